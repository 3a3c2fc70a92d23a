"""Feedback and petitions on administrative regulations (phản ánh, kiến nghị): the register,
assignment, answers, and the open and overdue lists."""
