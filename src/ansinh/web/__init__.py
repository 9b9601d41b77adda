"""Server-rendered pages (Jinja2 + htmx), the navigation frame later domains plug into."""
