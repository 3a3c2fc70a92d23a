// The app's own script (the CSP allows only scripts served here): print buttons.
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});
