"""Password reset through the office: a one-time code issued by an officer, used by the citizen at /login/reset."""
