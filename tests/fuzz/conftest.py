import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

# The fuzz tests keep no example database (database=None); Hypothesis's other caches (constants
# it reads from our code, unicode tables) go to the temp directory, not into the working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "filedock-hypothesis")
