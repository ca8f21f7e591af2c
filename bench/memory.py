"""Memory and repeated runs: peak memory of prediction and training as the number of images grows, two processes
sharing one decoded-image cache, and what the cache saves a second run.

Every workload runs in a fresh Python process, so its peak is its own. The images are synthetic 256-px JPEGs, made
here (smooth random colour fields with a few shapes, so they compress like photos), with random labels; the model is
the library's small_cnn at 224 px, so that the figures measure the data path (decoding, the cache, streaming), not a
backbone. The decoded-image cache is a fresh folder for each case (`MULTILABEL_NB_CACHE`). The cases, and their targets:

- `write_predictions` (what `multilabel-nb predict` runs: `predict_files`, in a process whose heap `limit_heap` keeps
  from fragmenting) at 1,000, 5,000 and 20,000 images, writing a CSV: peak RSS flat within 10%;
- training (one epoch) at 5,000 and 20,000 images: the 20,000 case under 3 GB;
- the 5,000-image training under `torchrun --nproc_per_node 2`: the two processes' summed peak PSS (proportional set
  size: shared pages split between the processes that share them) under 1.5x one process's;
- decoding 5,000 images into an empty cache (a first run) against decoding them into memory: within 15%;
- the default `multilabel-nb train` on planet_sample, run twice with one cache: the second under 25% of the first.

`--quick` runs 1/10 of the image counts (a check that the script works, not the figures); `--only predict` (or `train`,
`dist`, `decode`, `planet`) runs one group of cases."""
import sys, os, json, subprocess, tempfile, time, threading, shutil, argparse, contextlib, functools
from pathlib import Path
from _common import ROOT, append_results, md_table, peak_rss_mb, shared_set, Timer, run_child

def pss_mb() -> float:
    "Proportional set size of this process now (Linux), MB"
    for line in Path('/proc/self/smaps_rollup').read_text().splitlines():
        if line.startswith('Pss:'): return int(line.split()[1]) / 1024
    return float('nan')

class PeakPSS:
    "Samples this process's PSS every 0.2 s in a thread; `.peak` is the largest seen"
    def __init__(self): self.peak, self.stop = 0., False
    def __enter__(self):
        def loop():
            while not self.stop: self.peak = max(self.peak, pss_mb()); time.sleep(0.2)
        self.t = threading.Thread(target=loop, daemon=True); self.t.start(); return self
    def __exit__(self, *a): self.stop = True; self.t.join(); self.peak = max(self.peak, pss_mb())

def make_images(folder:Path, n:int, seed:int=0):
    "`n` synthetic 256-px JPEGs in `folder` (kept between cases) and a CSV of random labels from 8 classes"
    import numpy as np
    from PIL import Image, ImageDraw
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    have = len(list(folder.glob('*.jpg')))
    for i in range(have, n):
        base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((256, 256), Image.BICUBIC)
        d = ImageDraw.Draw(im)
        for _ in range(3):
            x, y = rng.integers(0, 200, 2); d.ellipse([x, y, x + rng.integers(10, 60), y + rng.integers(10, 60)], fill=tuple(rng.integers(0, 255, 3).tolist()))
        im.save(folder/f'{i:06d}.jpg', quality=90)
    classes = list('abcdefgh')
    rows = [(f'{i:06d}.jpg', ' '.join(c for c in classes if rng.random() < 0.25)) for i in range(n)]
    import pandas as pd
    df = pd.DataFrame(rows, columns=['fname', 'labels']); df['is_valid'] = df.index % 5 == 0
    return df

def frame(folder, n):
    "The rows of the first `n` synthetic images, as the library's loaders give them"
    import pandas as pd
    from multilabel_nb.core import parse_labels
    df = make_images(folder, n)
    return pd.DataFrame({'path': [str(folder/f) for f in df.fname], 'labels': [parse_labels(o) for o in df.labels], 'is_valid': df.is_valid})

def child(work, folder, n, model_dir):
    "One workload in this process; prints its figures as JSON"
    import warnings; warnings.simplefilter('ignore')
    from multilabel_nb.all import multilabel_dls, multilabel_learner, save_classifier, load_classifier, write_predictions, processes, \
        decode_images, decode_cached, L
    folder, n = Path(folder), int(n)
    res = {'images': n}
    if work == 'predict':
        files = L(sorted(folder.glob('*.jpg'))[:n])
        with PeakPSS() as p, contextlib.redirect_stdout(sys.stderr): write_predictions(load_classifier(model_dir), files, out=Path(model_dir)/f'p{n}.csv', force=True)
    elif work == 'model':
        dls = multilabel_dls(frame(folder, 200), size=224, show=False)
        save_classifier(multilabel_learner(dls, 'small_cnn', pretrained=False), model_dir)
        return
    elif work == 'train':
        world, rank = processes()
        from fastai.distributed import distrib_ctx
        df = frame(folder, n)
        with PeakPSS() as p:
            if world > 1:
                from accelerate import PartialState; PartialState(cpu=True)
            dls = multilabel_dls(df, size=224, show=False)
            learn = multilabel_learner(dls, 'small_cnn', pretrained=False)
            with learn.no_bar(), learn.no_logging(), (learn.distrib_ctx(sync_bn=False, cpu=True) if world > 1 else contextlib.nullcontext()):
                learn.fit_one_cycle(1, 1e-2)
        res['rank'] = rank
    elif work in ('decode_memory', 'decode_cache'):
        files = sorted(folder.glob('*.jpg'))[:n]
        for f in files: f.read_bytes()                     # the files in the page cache for both, so that both time decoding
        with PeakPSS() as p, Timer() as t: (decode_images if work == 'decode_memory' else decode_cached)(files, 224, show=False)
        res['seconds'] = t.s
    res.update({'peak RSS MB': peak_rss_mb(), 'peak PSS MB': p.peak})
    print(json.dumps(res))

run = functools.partial(run_child, 'memory.py')   # a child workload in fresh process(es); its JSON lines

def main(quick=False, only=None):
    import pandas as pd
    k = 10 if quick else 1
    work = Path(tempfile.mkdtemp(prefix='bench_memory_'))
    imgs, out = work/'images', []
    try:
        cache = lambda name: {'MULTILABEL_NB_CACHE': str(work/f'cache_{name}'), 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '2')}
        want = lambda group: only in (None, group)
        planet = shared_set('planet_sample') if want('planet') else None
        make_images(imgs, 20_000 // k if want('predict') or want('train') else 5_000 // k)
        if want('predict'):
            run(['model', imgs, 0, work/'model'], cache('model'))
            pred = {n: run(['predict', imgs, n, work/'model'], cache('predict'))[0] for n in (1_000 // k, 5_000 // k, 20_000 // k)}
            peaks = [r['peak RSS MB'] for r in pred.values()]
            for n, r in pred.items(): out.append((f'predict (write_predictions), {n:,} images', r['peak RSS MB'], ''))
            flat = max(peaks) / min(peaks)
            out.append(('predict: largest / smallest peak', f'{flat:.3f}', f"{'met' if flat <= 1.10 else 'MISSED'}: at most 1.10"))
        if want('train'):
            train = {n: run(['train', imgs, n, ''], cache(f'train{n}'))[0] for n in (5_000 // k, 20_000 // k)}
            for n, r in train.items(): out.append((f'training, {n:,} images (one epoch)', r['peak RSS MB'], ''))
            big = train[20_000 // k]['peak RSS MB']
            out.append((f'training, {20_000 // k:,} images: peak RSS', f'{big:.0f}', f"{'met' if big < 3000 else 'MISSED'}: under 3,000 MB"))
        n = 5_000 // k
        if want('dist'):
            # The decoded images are read with pread, not mapped: they sit in the page cache, counted once for the machine
            # and in no process's RSS or PSS. So this compares what each process holds of its own (code, model, batches).
            one = run(['train', imgs, n, ''], cache('dist'))[0]               # fills the cache that the two processes then share
            one = run(['train', imgs, n, ''], cache('dist'))[0]               # one process on the warm cache: the comparison
            two = run(['train', imgs, n, ''], cache('dist'), launcher=(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2'))
            both = sum(r['peak PSS MB'] for r in two)
            out.append((f'training, {n:,} images, 1 process: peak PSS', f"{one['peak PSS MB']:.0f}", ''))
            out.append((f'training, {n:,} images, 2 processes (torchrun): summed peak PSS', f'{both:.0f}',
                        f"{both / one['peak PSS MB']:.2f}x one process: {'met' if both < 1.5 * one['peak PSS MB'] else 'MISSED'} (under 1.5x)"))
        if want('decode'):
            mem = min(run(['decode_memory', imgs, n, ''], cache(f'm{i}'))[0]['seconds'] for i in range(2))
            cold = min(run(['decode_cache', imgs, n, ''], cache(f'c{i}'))[0]['seconds'] for i in range(2))
            out.append((f'decoding {n:,} images: into memory / into an empty cache, s', f'{mem:.1f} / {cold:.1f}',
                        f"{cold / mem:.2f}x: {'met' if cold <= 1.15 * mem else 'MISSED'} (at most 1.15x)"))
        if planet:
            cmd = [str(Path(sys.executable).parent/'multilabel-nb'), 'train', '--data', str(planet/'labels.csv'), '--folder', str(planet/'train'),
                   '--fname-col', 'image_name', '--label-col', 'tags']
            times = []
            for i in range(2):
                with Timer() as t:
                    r = subprocess.run(cmd + ['--out', str(work/f'planet{i}')], capture_output=True, text=True, env={**os.environ, **cache('planet')})
                if r.returncode: sys.exit(f"planet run failed:\n{r.stderr[-3000:]}")
                times.append(t.s)
            out.append(('default planet_sample run: first / second, s', f'{times[0]:.0f} / {times[1]:.0f}',
                        f"second {times[1] / times[0]:.0%} of the first: {'met' if times[1] < 0.25 * times[0] else 'MISSED'} (under 25%)"))
    finally: shutil.rmtree(work, ignore_errors=True)
    tab = pd.DataFrame(out, columns=['case', 'MB, s or ratio', 'target']).set_index('case')
    tab['MB, s or ratio'] = [f'{v:.0f}' if isinstance(v, float) else v for v in tab['MB, s or ratio']]
    append_results('Memory and repeated runs' + (' (--quick: 1/10 of the images)' if quick else '') + (f' (--only {only})' if only else ''),
                   'synthetic 256-px JPEGs with random labels from 8 classes, small_cnn at 224 px, batch size 64'
                   + ('; planet_sample (1,000 JPEGs) for the repeated default run' if planet else ''), md_table(tab))

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(*sys.argv[2:6])
    else:
        p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
        p.add_argument('--quick', action='store_true', help='1/10 of the images: a check that the script runs')
        p.add_argument('--only', choices=['predict', 'train', 'dist', 'decode', 'planet'], help='run one group of cases')
        a = p.parse_args(); main(a.quick, a.only)
