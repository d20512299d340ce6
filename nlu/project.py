"""The Rasa project on disk: where its inputs are, which model they make, how to train and serve it."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

NLU_DIR = Path(__file__).resolve().parent
ROOT = NLU_DIR.parent
MODELS_DIR = ROOT / "models"
RASA_VENV = ROOT / ".venv-rasa"
RASA_REQUIREMENTS = ROOT / "requirements-rasa.txt"


def training_inputs() -> list[Path]:
    """Everything that changes what Rasa learns (topics.yml feeds our own topic router, not Rasa)."""
    data = sorted(p for p in (NLU_DIR / "data").rglob("*.yml") if p.name != "topics.yml")
    dictionary = sorted((NLU_DIR / "jieba_dict").glob("*"))
    return [NLU_DIR / "config.yml", NLU_DIR / "domain.yml", *data, *dictionary, RASA_REQUIREMENTS]


def inputs_hash() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_path() -> Path:
    """The model the current inputs make: its name carries their hash, so a change means a new model."""
    return MODELS_DIR / f"nlu-{inputs_hash()}.tar.gz"


def rasa_executable() -> Path:
    rasa = RASA_VENV / "bin" / "rasa"
    if not rasa.exists():
        raise FileNotFoundError(
            f"Rasa is not installed in {RASA_VENV}; run `make setup` (it needs Python 3.10: "
            "set RASA_PYTHON=/path/to/python3.10, or install one with pyenv)"
        )
    return rasa


def train(force: bool = False) -> tuple[Path, bool]:
    """Train the model if its inputs changed; return (path, whether it was trained now)."""
    target = model_path()
    if target.exists() and not force:
        return target, False
    MODELS_DIR.mkdir(exist_ok=True)
    subprocess.run(
        [
            str(rasa_executable()),
            "train",
            "nlu",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--nlu",
            "data",
            "--out",
            str(MODELS_DIR),
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ],
        cwd=NLU_DIR,
        check=True,
        env=rasa_env(),
    )
    for old in MODELS_DIR.glob("nlu-*.tar.gz"):
        if old != target:
            old.unlink()
    return target, True


def serve_command(port: int, model: Path | None = None, *, host: str = "127.0.0.1", token: str) -> list[str]:
    """`rasa run` with its HTTP API behind `token` (the bot sends it as `?token=`), listening on `host` only; no
    CORS: no browser page has any business calling it."""
    return [
        str(rasa_executable()),
        "run",
        "--enable-api",
        "--interface",
        host,
        "--port",
        str(port),
        "--auth-token",
        token,
        "--model",
        str(model or model_path()),
    ]


def serve(port: int, *, host: str, token: str) -> int:
    """Run the Rasa server in the foreground (training first if needed)."""
    model, _ = train()
    return subprocess.call(serve_command(port, model, host=host, token=token), cwd=NLU_DIR, env=rasa_env())


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    # Rasa's telemetry and TensorFlow's chatter would try the network or flood the log.
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.pop("PYTHONPATH", None)
    return env
