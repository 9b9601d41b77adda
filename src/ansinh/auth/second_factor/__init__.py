"""The second factor at sign-in: time-based one-time codes (RFC 6238) from an authenticator app."""
