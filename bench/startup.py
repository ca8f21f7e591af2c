"""How long the `multilabel-nb` command takes to answer: `--help`, `--version` and a wrong option (each should print in
under 1 s, since they import neither PyTorch nor fastai), and `predict` of one image from a cold start: with the safe
model format through PyTorch, and with the exported model.onnx (which imports neither PyTorch nor fastai; target under
1.5 s), for small_cnn on the digits and for EfficientNet-Lite0 at 224 px on planet_sample (when it is there).

    python bench/startup.py [--repeat 5]

Each command runs in a fresh process, `--repeat` times; the table gives the fastest and the median wall time."""
import argparse, statistics, subprocess, sys, tempfile, time, shutil
from pathlib import Path
from _common import append_results, md_table, ROOT, shared_set

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
    subprocess.run([exe, 'export', str(work/'run'), '--onnx'], capture_output=True, check=True)
    planet, lite = shared_set('planet_sample'), {}
    if planet:                                   # a linear probe on Lite0's features at 224 px, saved and exported as a run would be
        subprocess.run([sys.executable, '-c', f"""
from multilabel_nb.all import *
from multilabel_nb.loaders import load_data
p = Path({str(planet)!r})
probe = fit_probe(multilabel_dls(load_data(p/'labels.csv', folder=p/'train', fname_col='image_name', label_col='tags'), size=224, valid_pct=0.25, seed=42), show=False)
export_onnx(save_classifier(probe, {str(work/'lite0')!r}), check_images=list(probe.dls.valid.items['path']), show=False)
"""], check=True, capture_output=True)
        chip = sorted((planet/'train').iterdir())[0]
        lite = {'multilabel-nb predict, one image, Lite0 224 px, PyTorch (--runtime torch)': [exe, 'predict', str(work/'lite0'), str(chip), '--runtime', 'torch'],
                'multilabel-nb predict, one image, Lite0 224 px, model.onnx': [exe, 'predict', str(work/'lite0'), str(chip)]}
    cases = {'multilabel-nb --help': [exe, '--help'], 'multilabel-nb --version': [exe, '--version'],
             'multilabel-nb train --epochs 0 (a wrong value)': [exe, 'train', '--epochs', '0'],
             'multilabel-nb train --epohcs 3 (a wrong option)': [exe, 'train', '--epohcs', '3'],
             'multilabel-nb predict, one image, small_cnn, PyTorch (--runtime torch)': [exe, 'predict', str(work/'run'), str(img), '--runtime', 'torch'],
             'multilabel-nb predict, one image, small_cnn, model.onnx': [exe, 'predict', str(work/'run'), str(img)], **lite,
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
    t_pred, t_lib = med('multilabel-nb predict, one image, small_cnn, PyTorch (--runtime torch)'), med('python -c "import multilabel_nb.inference"')
    onnx_keys = [k for k in rows if k.endswith('model.onnx')]
    t_onnx = max(med(k) for k in onnx_keys)
    t_fastai, t_torch, t_timm = med('python -c "import fastai.vision.all"'), med('python -c "import torch"'), med('python -c "import timm"')
    body = (md_table(df[['fastest (s)', 'median (s)']].astype(float), '.2f') + '\n\n' +
            f"- `--help`, `--version` and the wrong value and option answer in at most {fast.max():.2f} s (median; target under 1 s: "
            f"{'met' if ok else 'missed'}).\n"
            f"- `predict` of one image with the safe format takes {t_pred:.1f} s, of which importing the library is {t_lib:.1f} s: the "
            f"library's modules import fastai's vision API ({t_fastai:.1f} s alone), which the safe format itself does not need "
            f"(torch {t_torch:.1f} s, timm {t_timm:.1f} s).\n"
            f"- `predict` of one image with an exported model.onnx, which imports neither PyTorch nor fastai, takes at most {t_onnx:.2f} s "
            f"(median; target under 1.5 s: {'met' if t_onnx < 1.5 else 'missed'}); through PyTorch the same model takes "
            + ', '.join(f"{med(k.replace('model.onnx', 'PyTorch (--runtime torch)')):.1f} s" for k in onnx_keys) + ".\n")
    append_results('Start-up', 'a small_cnn model trained on 200 built-in digits and one of its images' +
                   ('; a linear probe on EfficientNet-Lite0 at 224 px fitted on planet_sample and one of its chips' if lite else ''), body)

if __name__ == '__main__': main()
