"""Deployment: images a second of EfficientNet-Lite0 at 224 px (a linear probe fitted on planet_sample) through PyTorch
in float32, ONNX Runtime in float32 (model.onnx) and ONNX Runtime in static int8 (model.int8.onnx, `export --onnx --int8`),
with the share of label sets each keeps of PyTorch's and the mAP of each, on planet_sample's held-out chips.

    python bench/deploy.py [--seeds 42 1 2]

Each seed is a split of its own (a quarter of the chips held out); the int8 file is calibrated on 256 training chips.
Speeds are the model's alone on decoded chips (the best of two passes) and end to end with decoding (`label_images`).
Target, from the course: int8 is run in place of model.onnx only where it keeps at least 98% of label sets and mAP
within 0.005; the table says by how much it misses."""
import argparse, contextlib, io, json, subprocess, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from _common import append_results, md_table, shared_set

def cpu_flags():
    "The CPU's vector and integer dot-product extensions, as lscpu names them"
    try: flags = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    except OSError: return 'unknown'
    have = [f for f in ('avx2', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16', 'amx_int8') if f' {f}' in flags]
    return ', '.join(have) or 'none of AVX2, AVX-512, VNNI'

def one_split(planet, seed, work):
    from multilabel_nb.all import export_onnx, export_int8, fit_probe, multilabel_dls, tune_thresholds, save_classifier, load_classifier, label_images, decode_images, join_labels, label_delim
    from multilabel_nb.runtime import OnnxModel
    from multilabel_nb.loaders import load_data
    from multilabel_nb.metrics import mean_ap
    import torch
    probe = fit_probe(multilabel_dls(load_data(planet/'labels.csv', folder=planet/'train', fname_col='image_name', label_col='tags'),
                                     size=224, valid_pct=0.25, seed=seed), show=False)
    tune_thresholds(probe)
    folder = work/f'seed{seed}'
    js = save_classifier(probe, folder)
    rows = [(p, join_labels(l, label_delim(probe.dls.vocab)), v) for dl, v in ((probe.dls.train, False), (probe.dls.valid, True))
            for p, l in zip(dl.items['path'], dl.items['labels'])]
    pd.DataFrame(rows, columns=['path', 'labels', 'is_valid']).to_csv(folder/'split.csv', index=False)
    chips = [str(p) for p in probe.dls.valid.items['path']]
    with contextlib.redirect_stdout(io.StringIO()): export_onnx(js, check_images=chips, int8=True, show=False)
    clf = load_classifier(js, runtime='torch')
    models = {'PyTorch fp32': clf, 'ONNX Runtime fp32': OnnxModel(folder/'model.onnx'), 'ONNX Runtime int8': OnnxModel(folder/'model.int8.onnx')}
    x = decode_images(chips, 224, show=False).images
    y = torch.tensor([[c in l for c in clf.vocab] for l in probe.dls.valid.items['labels']], dtype=torch.float32)
    ref, out = None, {}
    for name, m in models.items():
        xin = x if name.startswith('PyTorch') else x.numpy()
        m.probs(xin[:8])                                          # warm-up
        best = float('inf')
        for _ in range(2):
            t = time.perf_counter(); p = np.asarray(m.probs(xin)); best = min(best, time.perf_counter() - t)
        t = time.perf_counter(); label_images(m, chips, show=False); e2e = time.perf_counter() - t
        sets = p > clf.thresh.numpy()
        if ref is None: ref = sets
        out[name] = {'model images/s': len(x) / best, 'end to end images/s': len(x) / e2e,
                     'label sets as PyTorch fp32': float((sets == ref).all(1).mean()), 'mAP': mean_ap(torch.from_numpy(p), y, warn=False)}
    rec = json.loads((folder/'model.int8.onnx.json').read_text())
    return out, len(chips), rec

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, nargs='+', default=[42, 1, 2])
    args = p.parse_args()
    planet = shared_set('planet_sample')
    if planet is None: return
    work = Path(tempfile.mkdtemp())
    runs = {s: one_split(planet, s, work) for s in args.seeds}
    n = runs[args.seeds[0]][1]
    names = list(runs[args.seeds[0]][0])
    cols = ['model images/s', 'end to end images/s', 'label sets as PyTorch fp32', 'mAP']
    tab = pd.DataFrame({name: {c: np.mean([runs[s][0][name][c] for s in args.seeds]) for c in cols} for name in names}).T
    tab.index.name = f'Lite0 224 px, mean of {len(args.seeds)} splits'
    agree = tab.loc['ONNX Runtime int8', 'label sets as PyTorch fp32']
    drop = tab.loc['PyTorch fp32', 'mAP'] - tab.loc['ONNX Runtime int8', 'mAP']
    speed = tab.loc['ONNX Runtime int8', 'model images/s'] / tab.loc['ONNX Runtime fp32', 'model images/s']
    used = [s for s in args.seeds if runs[s][2]['agreement'] >= 0.98 and (runs[s][2]['map_change'] or -1) >= -0.005]
    fmt = lambda v: f"{v:.3f}" if v < 2 else f"{v:.1f}"
    body = (f"CPU extensions: {cpu_flags()}. {n} held-out chips per split; int8 calibrated on 256 training chips per split.\n\n"
            + md_table(tab.map(float), '.3f') + "\n\n"
            f"- int8 runs the model at {speed:.2f} times the speed of float32 ONNX Runtime, and keeps {agree:.1%} of PyTorch's label sets "
            f"(target at least 98%: {'met' if agree >= 0.98 else f'missed by {0.98 - agree:.1%}'}), with mAP {-drop:+.4f} "
            f"(target within 0.005: {'met' if drop <= 0.005 else f'missed by {drop - 0.005:.4f}'}).\n"
            f"- `--runtime auto` would run model.int8.onnx on {len(used)} of {len(args.seeds)} splits; elsewhere it keeps model.onnx.\n")
    append_results('Deployment: PyTorch, ONNX Runtime and static int8', f"planet_sample, seeds {args.seeds}", body)

if __name__ == '__main__': main()
