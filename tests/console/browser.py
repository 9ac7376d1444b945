"""Real headless Chromium (Debian's ``chromium`` + ``chromium-driver``) driven by selenium,
against a real console server process (``tests.console.serve``) on a free loopback port.

Selenium is pointed at ``/usr/bin/chromedriver`` so that selenium-manager downloads nothing;
every browser gets a fresh profile and no background networking.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.factories import DEMO_PASSWORD
from tests.integration.servers import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CGT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CGT_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def require_chromium() -> None:
    """Skip where Chromium is not installed — except under CI, where it must be."""
    if Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists():
        return
    if os.environ.get("CI"):
        raise AssertionError(f"{CHROMIUM} or {CHROMEDRIVER} missing (see .ci/test-env.sh)")
    pytest.skip("Chromium and chromedriver are not installed")


@contextmanager
def chromium(width: int = 1440, height: int = 1000) -> Iterator[WebDriver]:
    """A headless Chromium with a throwaway profile, Chinese preferred."""
    profile = tempfile.mkdtemp(prefix="cgt-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.add_argument("--lang=zh-CN")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class ConsoleServer:
    """``tests.console.serve`` in a child process; ``advance()`` moves its clock."""

    def __init__(self, url: str, workdir: Path, demo_cases: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.clock_file = workdir / "clock-offset"
        self.clock_file.write_text("0")
        self.offset = 0.0
        self.log_path = workdir / "server.log"
        args = [sys.executable, "-m", "tests.console.serve", url, str(self.port)]
        args += [str(workdir / "photos"), str(self.clock_file)]
        if demo_cases:
            args.append("--demo-cases")
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until_serving(self.base, self.proc, time.monotonic() + 120)

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.offset += timedelta(**delta).total_seconds()
        self.clock_file.write_text(str(self.offset))

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.log_path.read_text(errors="replace")


def sign_in(driver: WebDriver, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    driver.get(f"{base}/console/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    click_and_wait(driver, driver.find_element(By.ID, "sign-in"))


def body_text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text  # type: ignore[no-any-return]


def action_form(driver: WebDriver, action: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f"form.action-{action}")


def click_and_wait(driver: WebDriver, element: WebElement, timeout: float = 15) -> None:
    """Click something that loads a new page, and wait until the new page is there.

    The old page is marked with a property on its window; the new page's window has none. While
    the old document is being torn down Chromium may answer any command with an error other than
    "stale element" (CI once saw "Node with given id does not belong to the document" from
    selenium's own staleness_of), so such errors mean "not yet" and the wait polls again.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.__cgtOldPage = true;")
    element.click()

    def new_page(d: WebDriver) -> bool:
        return bool(d.execute_script("return window.__cgtOldPage === undefined;"))

    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(new_page)


class Api:
    """The REST API as the phone app and other clients use it (for the steps done off-console)."""

    def __init__(self, base: str) -> None:
        import requests

        self.base = base
        self.http = requests.Session()
        self.devices = 0

    def _json(self, resp: object, status: int) -> dict:  # type: ignore[type-arg]
        assert resp.status_code == status, (resp.status_code, resp.text)  # type: ignore[attr-defined]
        return resp.json()  # type: ignore[attr-defined, no-any-return]

    def login(self, username: str) -> dict[str, str]:
        self.devices += 1
        body = {"username": username, "password": DEMO_PASSWORD, "device_id": f"b{self.devices}"}
        tok = self._json(self.http.post(f"{self.base}/api/auth/login", json=body), 200)
        return {"Authorization": f"Bearer {tok['access_token']}"}

    def login_phone(self, phone: str, code: str) -> dict[str, str]:
        self.devices += 1
        self._json(self.http.post(f"{self.base}/api/auth/otp", json={"phone": phone}), 202)
        body = {"phone": phone, "code": code, "device_id": f"p{self.devices}"}
        tok = self._json(self.http.post(f"{self.base}/api/auth/otp/verify", json=body), 200)
        return {"Authorization": f"Bearer {tok['access_token']}"}

    def photo(self, headers: dict[str, str], jpeg: bytes) -> str:
        resp = self.http.post(
            f"{self.base}/api/photos",
            data=jpeg,
            headers={**headers, "Content-Type": "image/jpeg"},
        )
        assert resp.status_code in (200, 201), resp.text
        return resp.json()["sha256"]  # type: ignore[no-any-return]

    def report(self, headers: dict[str, str], body: dict) -> dict:  # type: ignore[type-arg]
        return self._json(self.http.post(f"{self.base}/api/cases", json=body, headers=headers), 201)

    def case(self, headers: dict[str, str], case_id: str) -> dict:  # type: ignore[type-arg]
        return self._json(self.http.get(f"{self.base}/api/cases/{case_id}", headers=headers), 200)

    def act(self, headers: dict[str, str], case_id: str, action: str, **args: object) -> dict:  # type: ignore[type-arg]
        version = self.case(headers, case_id)["version"]
        url = f"{self.base}/api/cases/{case_id}/actions/{action}"
        return self._json(
            self.http.post(url, json={"version": version, **args}, headers=headers), 200
        )
