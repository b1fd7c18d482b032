"""The pages as a person sees them: headless Chromium renders what `stormwatch run` serves."""

import os
import shutil
import subprocess
import threading
import time

import httpx
import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from monitor.config import load_settings
from monitor.playbooks import load_playbooks
from monitor.storage import Store
from monitor.web.app import create_app
from tests.receivers import free_port

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required on CI (Debian package chromium)")
        pytest.skip("headless Chromium not installed: sudo apt-get install chromium")
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    settings = load_settings(root / "config" / "demo.yaml", environ={})
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")
    app = create_app(settings=settings, playbooks=load_playbooks(settings.playbooks_dir), store=store,
                     metrics_registry=CollectorRegistry())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()


def _render(chromium, url, tmp_path, *extra):
    profile = tmp_path / "profile"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_playbook_page_renders_in_german_with_checklist_and_owners(chromium, served, tmp_path):
    dom = _render(chromium, f"{served}/playbooks/hassrede", tmp_path, "--dump-dom")
    assert "<html" in dom and 'lang="de"' in dom
    assert "Hassrede" in dom
    assert 'type="checkbox"' in dom
    assert "Justiziariat" in dom and "Rechtsamt, Bereitschaft" in dom


def test_playbook_page_in_english_and_a_screenshot(chromium, served, tmp_path):
    dom = _render(chromium, f"{served}/playbooks/grosslage?lang=en", tmp_path, "--dump-dom")
    assert 'lang="en"' in dom
    shot = tmp_path / "grosslage.png"
    _render(chromium, f"{served}/playbooks/grosslage", tmp_path, f"--screenshot={shot}", "--window-size=1200,1600")
    assert shot.exists() and shot.stat().st_size > 10_000  # a rendered page, not a blank one
