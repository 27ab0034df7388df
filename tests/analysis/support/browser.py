"""A real headless Chromium for the report tests, driven by selenium with the system's chromedriver.

Nothing may leave the machine: Selenium Manager is never asked for a driver (the driver's path is
given, and SE_OFFLINE / SE_AVOID_STATS are set as selenium documents), and Chromium runs with
the flags that turn off background networking, component updates, sync, metrics and downloads.
The browser's console and its network events (the performance log) are kept, so a test can
assert that the page logged no error and requested nothing but itself.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
    "--disable-client-side-phishing-detection", "--disable-breakpad", "--metrics-recording-only",
    "--no-first-run", "--no-default-browser-check", "--disable-quic", "--no-pings",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication,"
    "CertificateTransparencyComponentUpdater,DownloadBubble",
    "--window-size=1400,1800",
)


@contextmanager
def chromium():
    """A selenium WebDriver on headless Chromium, its profile in a temporary folder."""
    os.environ["SE_OFFLINE"] = "true"          # Selenium Manager: never download anything
    os.environ["SE_AVOID_STATS"] = "true"      # ... and send no usage statistics
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory() as profile, tempfile.TemporaryDirectory() as downloads:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_experimental_option("prefs", {
            "download.default_directory": downloads, "download.prompt_for_download": False,
            "download_restrictions": 3,              # no download at all
            "safebrowsing.enabled": False})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        # no --allowed-ips: given one, chromedriver listens on every interface (and filters);
        # without, it listens on loopback only
        service = Service(executable_path=CHROMEDRIVER)
        driver = webdriver.Chrome(service=service, options=options)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL the browser asked for since the last call (Network.requestWillBeSent)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls
