"""How long the `multilabel-nb` command takes to answer: `--help`, `--version` and a wrong option (each should print in
under 1 s, since they import neither PyTorch nor fastai), and `predict` of one image with the safe model format, split
into the time its imports take and the rest.

    python bench/startup.py [--repeat 5]

Each command runs in a fresh process, `--repeat` times; the table gives the fastest and the median wall time."""
import argparse, statistics, subprocess, sys, tempfile, time, shutil
from pathlib import Path
from _common import append_results, md_table, ROOT

def wall(argv, repeat):
    "Fastest and median wall time of `argv` in a fresh process, and its last output line"
    times, out = [], ''
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
        out = (r.stdout + r.stderr).strip().splitlines()[-1:] or ['']
    return min(times), statistics.median(times), out[0][:90]

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeat', type=int, default=5)
    args = p.parse_args()
    import pandas as pd
    exe = shutil.which('multilabel-nb', path=str(Path(sys.executable).parent)) or 'multilabel-nb'
    work = Path(tempfile.mkdtemp())
    # A small model in the safe format, and one image to label
    subprocess.run([exe, 'train', '--digits', '200', '--epochs', '1', '--out', str(work/'run')], capture_output=True, check=True)
    img = pd.read_csv(work/'run'/'split.csv')['path'][0]
    cases = {'multilabel-nb --help': [exe, '--help'], 'multilabel-nb --version': [exe, '--version'],
             'multilabel-nb train --epochs 0 (a wrong value)': [exe, 'train', '--epochs', '0'],
             'multilabel-nb train --epohcs 3 (a wrong option)': [exe, 'train', '--epohcs', '3'],
             'multilabel-nb predict, one image, safe format': [exe, 'predict', str(work/'run'), str(img)],
             'python -c "import torch"': [sys.executable, '-c', 'import torch'],
             'python -c "import timm"': [sys.executable, '-c', 'import timm'],
             'python -c "import fastai.vision.all"': [sys.executable, '-c', 'import fastai.vision.all'],
             'python -c "import multilabel_nb.inference"': [sys.executable, '-c', 'import multilabel_nb.inference']}
    rows = {k: wall(v, args.repeat) for k, v in cases.items()}
    df = pd.DataFrame(rows, index=['fastest (s)', 'median (s)', 'last line']).T
    df.index.name = 'command'
    shutil.rmtree(work)
    fast = df.loc[[k for k in df.index if k.startswith('multilabel-nb') and 'predict' not in k], 'median (s)']
    ok = (fast < 1).all()
    med = lambda k: rows[k][1]
    t_pred, t_lib = med('multilabel-nb predict, one image, safe format'), med('python -c "import multilabel_nb.inference"')
    t_fastai, t_torch, t_timm = med('python -c "import fastai.vision.all"'), med('python -c "import torch"'), med('python -c "import timm"')
    body = (md_table(df[['fastest (s)', 'median (s)']].astype(float), '.2f') + '\n\n' +
            f"- `--help`, `--version` and the wrong value and option answer in at most {fast.max():.2f} s (median; target under 1 s: "
            f"{'met' if ok else 'missed'}).\n"
            f"- `predict` of one image with the safe format takes {t_pred:.1f} s, of which importing the library is {t_lib:.1f} s: the "
            f"library's modules import fastai's vision API ({t_fastai:.1f} s alone), which the safe format itself does not need "
            f"(torch {t_torch:.1f} s, timm {t_timm:.1f} s).\n")
    append_results('Start-up', 'a small_cnn model trained on 200 built-in digits; one of its images', body)

if __name__ == '__main__': main()
