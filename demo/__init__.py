"""The demo city: the hub and the 13 desks (and the city's own) on one machine, with dossiers
generated through the ward's services and synced over real HTTP. It sits above both apps; neither
imports it."""
