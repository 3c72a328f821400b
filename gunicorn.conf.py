"""gunicorn's configuration (read from the working directory; see also its command line)."""

import os

from kongflow.config import exit_on_bad_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongflow.settings")
# In the master, before any worker boots: a bad setting ends gunicorn with one line (in a worker it
# would be a traceback per worker).
exit_on_bad_settings()
