"""gunicorn's configuration (read from the working directory; see also its command line)."""

import os
import subprocess
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongflow.settings")
# A bad setting ends gunicorn before any worker boots, with one line (in the workers it would be a
# traceback each). Checked in a child process: the master itself does not load Django's settings,
# each worker does (after post_fork, which may still set variables for it).
_check = "from kongflow.config import exit_on_bad_settings; exit_on_bad_settings()"
if subprocess.run([sys.executable, "-c", _check], check=False).returncode != 0:  # noqa: S603
    sys.exit(1)
