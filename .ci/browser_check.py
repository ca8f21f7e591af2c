"""Drive the page of `multilabel-nb serve` in a real browser (headless Chromium), and save what it shows.

    .ci/browser-check [OUT]          # installs what it needs, then runs this script

Lesson 11 tests the server over HTTP with starlette's TestClient; this script checks the page itself, as a
user meets it: it trains a small model on the built-in digits, serves it, opens the page in Chromium, uploads
two images and a file that is not an image, moves the all-classes slider to the top, then the slider of one
class of the first image to the bottom (the all-classes value then reads 'mixed'), presses the reset button, and uploads
again after the server has stopped. After each step it checks what the page says and saves a screenshot (OUT/1-page.png
... OUT/6-server-gone.png). It exits 1, naming the step, if a check fails.

It needs Debian's `chromium` and `chromium-driver` and the `selenium` package, which the project does not
install (CI machines may lack a browser); `.ci/browser-check` sets them up. It runs the project's own
`multilabel-nb` from `.venv`.
"""
import sys, os, csv, time, json, shutil, subprocess, tempfile, socket, urllib.request
from pathlib import Path
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
NONE = '(none of these)'   # how the page says that no class reaches its threshold (`multilabel_nb.core.NONE`)
EXE = ROOT/'.venv'/'bin'/'multilabel-nb'

def fail(step, msg): sys.exit(f"browser check, {step}: {msg}")

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def answers(driver): return [e.text for e in driver.find_elements(By.CSS_SELECTOR, '#cards .card .answer, #cards .card .err')]

def main(out):
    out.mkdir(parents=True, exist_ok=True)
    if not EXE.exists(): fail('setup', f"{EXE} is missing: install the project first (README, 'Set up, train, test').")
    work = Path(tempfile.mkdtemp())
    env = {**os.environ, 'OMP_NUM_THREADS': '2'}
    r = subprocess.run([str(EXE), 'train', '--digits', '2000', '--epochs', '5', '--out', str(work/'run')], capture_output=True, text=True, env=env, cwd=work)
    if r.returncode: fail('training', r.stderr[-800:])
    split = json.loads((work/'run'/'settings.json').read_text())
    with open(work/'run'/'split.csv', newline='') as f: imgs = [Path(r['path']) for r in csv.DictReader(f) if r['is_valid'] == 'True'][:2]
    bad = work/'notes.png'; bad.write_text('this is not an image')
    port = free_port()
    server = subprocess.Popen([str(EXE), 'serve', str(work/'run'), '--port', str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which('chromium') or '/usr/bin/chromium'
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,1000'): opts.add_argument(a)
    driver = None
    try:
        url = f'http://127.0.0.1:{port}/'
        for _ in range(120):
            try: urllib.request.urlopen(url + 'info'); break
            except OSError: time.sleep(0.5)
        else: fail('serve', 'the server did not answer in 60 s')
        driver = webdriver.Chrome(service=Service(shutil.which('chromedriver') or '/usr/bin/chromedriver'), options=opts)
        wait = WebDriverWait(driver, 60)
        driver.get(url)
        sliders = driver.find_elements(By.CSS_SELECTOR, '#per input[type=range]')
        if len(sliders) != len(split['vocab']): fail('page', f"{len(sliders)} class sliders for {len(split['vocab'])} classes")
        if not driver.title.startswith('run '): fail('page', f"the title {driver.title!r} does not name the model's folder")
        driver.save_screenshot(str(out/'1-page.png'))

        driver.find_element(By.ID, 'files').send_keys('\n'.join(str(p) for p in [*imgs, bad]))
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#cards .card')) == 3)
        first = answers(driver)
        if 'not an image' not in first[2] and 'decode' not in first[2]: fail('upload', f"the non-image got {first[2]!r}, not a clear error")
        if not all(a.startswith(('Labels:', NONE)) for a in first[:2]): fail('upload', f"unexpected answers {first[:2]}")
        driver.save_screenshot(str(out/'2-uploaded.png'))

        top = driver.find_element(By.ID, 'all'); top.click(); top.send_keys(Keys.END)   # every threshold to 0.99
        raised = answers(driver)
        if not all(a.startswith(NONE) for a in raised[:2]): fail('all-classes slider', f"at 0.99 the answers are {raised[:2]}")
        driver.save_screenshot(str(out/'3-all-high.png'))

        if not first[0].startswith('Labels: '): fail('upload', f"the first image got {first[0]!r}: the check needs a label for it")
        cls0 = first[0].removeprefix('Labels: ').split(', ')[0]                  # one of the first image's labels...
        one = driver.find_elements(By.CSS_SELECTOR, '#per input[type=range]')[split['vocab'].index(cls0)]
        one.click(); one.send_keys(Keys.HOME)                                   # ...with its threshold at 0.01
        lowered = answers(driver)
        if lowered[0] != f'Labels: {cls0}': fail('one-class slider', f"with class {cls0!r} at 0.01 the answers are {lowered[:2]}")
        if driver.find_element(By.ID, 'allv').text != 'mixed': fail('one-class slider', f"the all-classes value reads {driver.find_element(By.ID, 'allv').text!r}, not 'mixed'")
        driver.save_screenshot(str(out/'4-one-low.png'))

        driver.find_element(By.ID, 'reset').click()
        if answers(driver) != first: fail('reset', f"after reset the answers are {answers(driver)}, not {first}")
        driver.save_screenshot(str(out/'5-reset.png'))
        if server.poll() is not None: fail('serve', 'the server stopped')

        server.terminate(); server.wait(timeout=30)                             # the server goes away; the page is still open
        driver.find_element(By.ID, 'files').send_keys(str(imgs[0]))
        wait.until(lambda d: 'Labelling' not in d.find_element(By.ID, 'cards').text)
        gone = driver.find_element(By.ID, 'cards').text
        if not gone.startswith('The server did not answer'): fail('server gone', f"an upload to a stopped server shows {gone!r}")
        driver.save_screenshot(str(out/'6-server-gone.png'))
        print("browser check passed. Answers:", *[f"  uploaded: {first}", f"  all at 0.99: {raised}", f"  {cls0!r} at 0.01: {lowered}", f"  server gone: {gone!r}"], sep='\n')
        print(f"screenshots: {', '.join(sorted(p.name for p in out.glob('*.png')))} in {out}")
    finally:
        if driver: driver.quit()
        server.terminate(); server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

if __name__ == '__main__': main(Path(sys.argv[1] if len(sys.argv) > 1 else 'browser-check'))
