"""wharf's builder: Celery workers that run automated builds for the hub."""
