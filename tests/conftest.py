from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

#: Third-party labelled data beside the repository (never committed into it).
AMLSIM_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "amlsim-samples"


@pytest.fixture
def amlsim_dir() -> Path:
    if not AMLSIM_DIR.is_dir():
        pytest.skip(f"AMLSim samples not found at {AMLSIM_DIR}: they live in ../shared beside "
                    "the repository (CI has them; a user's clone does not)")
    return AMLSIM_DIR


@pytest.fixture(autouse=True, scope="session")
def _pseudonym_key(tmp_path_factory):
    """Tests never write a key into the user's home: each session gets its own, set before
    any fixture runs (a module's scanned store too: its key must be the one later commands
    of the test read, as run stores record their key's id)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOWGRAPH_KEY_FILE", str(tmp_path_factory.getbasetemp() / "pseudonym.key"))
        yield
