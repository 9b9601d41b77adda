"""What citizens see of their own records (the VssID role): the ``/api/v1/me`` API and the ``/me`` pages."""
