"""float32 against bfloat16 (torch's CPU autocast), and PyTorch against ONNX Runtime, for the frozen backbones: what should `'auto'` use?

    python bench/precision.py [--only planet_sample fashion6] [--seeds 42 1 2]

1. Throughput of the body's features (`PooledStages`, what a probe computes) for EfficientNet-Lite0, Lite1 and Lite2 at
   their own sizes (224, 240, 260 px), batches of 64 planet chips, channels-last, in both precisions; and of `predict_files`
   (decoding overlapped with the model) on 256 planet JPEGs with the Lite0 model of the default run.
2. The whole default run (`fit_tune_report` with its defaults, as `multilabel-nb train --data ...`) on planet_sample and
   fashion6 three ways, each from an empty cache, so each decodes and computes every feature: PyTorch float32 (the
   reference: `precision='fp32', runtime='torch'`), the defaults (`'auto'`: float32 features from ONNX Runtime when it
   is installed) and PyTorch bfloat16 (`precision='bf16', runtime='torch'`); their wall times against the reference's.
   A warm-up run of each kind on the smallest set comes first, untimed.
3. Quality over the seeds (one stratified split per seed; later seeds reuse each precision's cached features): mAP and
   held-out macro F1 (`thresholds_cv.csv`: thresholds chosen on 4 folds of the validation images, scored on the fifth).
4. Agreement: the fp32 run's model labels its validation images in fp32 and in bf16; the share of images whose label sets
   are identical (target: at least 99.5%), and the largest change of a probability. And the whole runs: the share of
   validation images that the default run and the bf16 run label as the reference run does (`valid_preds.csv`).
5. Prediction runtimes on planet_sample, on the same model: PyTorch fp32 and bf16, ONNX Runtime fp32 (`export_onnx`'s
   model.onnx) and int8 (onnxruntime's dynamic quantization of it): `predict_files` throughput on 256 JPEGs (decoding
   overlapped), and agreement with PyTorch fp32 on the 250 validation images.
Targets: the default run at most 60% of the PyTorch fp32 run's time on planet_sample, its mAP within the fp32 seed range,
agreement at least 99.5%. `precision='auto'` may use bf16 only if bf16 meets all three; the summary says which failed."""
import argparse, json, os, tempfile, time, warnings
from pathlib import Path
from _common import append_results, md_table, shared_set, planet_df
import torch, numpy as np, pandas as pd
from multilabel_nb.loaders import load_folders
from multilabel_nb.images import decode_images
from multilabel_nb.learner import build_model, BACKBONES, imagenet_stats
from multilabel_nb.probe import resolve_precision, precision_context, bf16_native, _body_session
from multilabel_nb.inference import load_classifier, predict_files, export_onnx, OnnxClassifier
from onnxruntime.quantization import quantize_dynamic, QuantType
from multilabel_nb.training import fit_tune_report, _KIND_COL

def body_throughput(arch, images, precision, bs=64, reps=2):
    "Images per second through the frozen body with the default probe's blocks (3, 4, 5); precision 'onnx': ONNX Runtime's float32"
    model = build_model({'arch': arch, 'head': 'linear', 'stages': [3, 4, 5]}, 17).eval()
    body = model[0].to(memory_format=torch.channels_last)
    mean, std = (torch.tensor(o).view(1, 3, 1, 1) for o in imagenet_stats)
    x = ((images[:bs].float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
    if precision == 'onnx':
        sess = _body_session(body, x.shape[-1])
        f = lambda b: sess.run(None, {'pixels': b.contiguous().numpy()})
    else: f = body
    with torch.inference_mode(), precision_context('fp32' if precision == 'onnx' else precision):
        f(x[:8])                                      # warm-up
        t0 = time.perf_counter()
        for _ in range(reps): f(x)
    return reps * len(x) / (time.perf_counter() - t0)

ARMS = {'fp32': dict(precision='fp32', runtime='torch'), 'auto': dict(precision='auto', runtime='auto'), 'bf16': dict(precision='bf16', runtime='torch')}

def run(data, out, arm, seed, cache):
    "One default run into `out` with the feature cache in `cache`, with the options of `arm`; its wall time and scores"
    os.environ['MULTILABEL_NB_CACHE'] = str(cache)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        fit_tune_report(data, out, seed=seed, verbose=False, **ARMS[arm])
    took = time.perf_counter() - t0
    s = json.loads((out/'settings.json').read_text())
    m = pd.read_csv(out/'metrics.csv', index_col=0)
    cv = pd.read_csv(out/'thresholds_cv.csv', index_col=0)
    col = _KIND_COL[s['threshold_choice']]
    return dict(seconds=took, mAP=float(m['mAP'].iloc[0]), heldout_f1=float(cv.loc['mean', col]), precision_used=s.get('precision'), runtime=s.get('runtime'))

def same_sets(a, b):
    "Share of validation images that the runs in folders `a` and `b` label alike (their valid_preds.csv)"
    pa, pb = (pd.read_csv(o/'valid_preds.csv', dtype=str, keep_default_na=False).set_index('path')['predicted'] for o in (a, b))
    return float((pa == pb.loc[pa.index]).mean())

def decoded(paths, size):
    "The images of `paths` that decode, as one uint8 tensor"
    dec = decode_images(paths, size, show=False)
    return dec.images[torch.from_numpy(np.where(dec.ok.numpy())[0])]

def compare(ref, p, thresh):
    "Share of images whose label sets at `thresh` are the same under probabilities `ref` and `p`, and the largest change of a probability"
    return ((p > thresh) == (ref > thresh)).all(1).float().mean().item(), (p - ref).abs().max().item()

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', nargs='*', default=None)
    p.add_argument('--seeds', nargs='*', type=int, default=[42, 1, 2])
    args = p.parse_args()
    work = Path(tempfile.mkdtemp())
    sets = {}
    planet = shared_set('planet_sample')
    if planet: sets['planet_sample'] = dict(data=str(planet/'labels.csv'), folder=str(planet/'train'), fname_col='image_name', label_col='tags')
    fashion = shared_set('fashion6')
    if fashion: sets['fashion6'] = dict(data=str(fashion), sep='_')
    if args.only: sets = {k: v for k, v in sets.items() if k in args.only}
    if not sets: return print("No data set found: nothing to measure.")
    lines = [f"This CPU computes bfloat16 natively: {bf16_native()}. `precision='auto'` resolves to {resolve_precision('auto')}.", ""]

    # 1. Throughput of the bodies, on planet chips (or on the first set found)
    first = next(iter(sets.values()))
    paths = (planet_df(planet)['path'] if planet else load_folders(first['data'], sep='_')['path']).tolist()
    rows = []
    for arch, (_, size) in BACKBONES.items():
        imgs = decode_images(paths[:64], size, show=False).images
        f32, b16, ort = (body_throughput(arch, imgs, p) for p in ('fp32', 'bf16', 'onnx'))
        rows.append([f'{arch} features, {size} px', f'{f32:.1f}', f'{b16:.1f}', f'{b16 / f32:.2f}x', f'{ort:.1f}', f'{ort / f32:.2f}x'])

    # 2-4. Whole default runs, quality over seeds, agreement
    runs, agree, runtimes, whole = [], [], [], []
    # A warm-up run of each kind on the smallest set, so that the first timed run does not also pay for first imports and allocations
    small = min(sets, key=lambda k: k != 'fashion6')
    for arm in ARMS: run(sets[small], work/f'warmup_{arm}', arm, args.seeds[0], work/f'cache_warmup_{arm}')
    for name, data in sets.items():
        for arm in ARMS:
            cache = work/f'cache_{name}_{arm}'
            for seed in args.seeds:
                out = work/f'{name}_{arm}_{seed}'
                r = run(data, out, arm, seed, cache)
                runs.append(dict(set=name, precision=arm, seed=seed, first=seed == args.seeds[0], **r))
                print(runs[-1], flush=True)
        whole.append([name] + [f"{np.mean([same_sets(work/f'{name}_fp32_{s}', work/f'{name}_{arm}_{s}') for s in args.seeds]):.2%}" for arm in ('auto', 'bf16')])
        m32 = work/f'{name}_fp32_{args.seeds[0]}'
        valid = pd.read_csv(m32/'split.csv').query('is_valid')['path'].tolist()
        size = json.loads((m32/'model.json').read_text())['size']
        xv = decoded(valid, size)
        base, bf16 = (load_classifier(m32, precision=p, runtime='torch') for p in ('fp32', 'bf16'))
        ref = base.probs(xv)
        agree.append((name, *compare(ref, bf16.probs(xv), base.thresh), len(xv)))
        if name == 'planet_sample':             # prediction: PyTorch fp32 and bf16, ONNX Runtime fp32 and int8, on the same model
            export_onnx(m32, show=False)
            q8 = work/'model_int8.onnx'
            quantize_dynamic(str(m32/'model.onnx'), str(q8), weight_type=QuantType.QInt8)
            for label, clf in {'PyTorch fp32': base, 'PyTorch bf16 (autocast)': bf16, 'ONNX Runtime fp32 (model.onnx)': load_classifier(m32, runtime='onnx'),
                               'ONNX Runtime int8 (dynamic quantization)': OnnxClassifier(base, q8)}.items():
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore'); predict_files(clf, paths[:256], show=False)
                speed = 256 / (time.perf_counter() - t0)
                same, change = compare(ref, clf.probs(xv), base.thresh)
                runtimes.append([label, f'{speed:.1f}', f'{same:.2%}', f'{change:.2e}'])

    table = lambda cols, rows: md_table(pd.DataFrame(rows, columns=cols).set_index(cols[0]))
    body = table(['case', 'PyTorch fp32 img/s', 'PyTorch bf16 img/s', 'bf16 / fp32', 'ONNX Runtime fp32 img/s', 'ONNX Runtime / PyTorch fp32'], rows) + "\n\n"
    df = pd.DataFrame(runs)
    trows, verdict = [], []
    names = {'fp32': 'PyTorch fp32 (reference)', 'auto': "defaults ('auto')", 'bf16': 'PyTorch bf16'}
    for name, *same in whole:
        d = df[df.set == name]
        first = lambda arm: d[(d.precision == arm) & d['first']]['seconds'].iloc[0]
        q = d.groupby('precision')[['mAP', 'heldout_f1']].agg(['mean', 'min', 'max'])
        lo, hi = q.loc['fp32', ('mAP', 'min')] - 1e-9, q.loc['fp32', ('mAP', 'max')] + 1e-9
        for arm, eq in zip(ARMS, ['100.00%'] + same):
            a = q.loc[arm]
            rt = d[d.precision == arm]['runtime'].iloc[0]
            trows.append([name, f"{names[arm]}, {'ONNX Runtime' if rt == 'onnx' else 'PyTorch'}", f'{first(arm):.1f}', f"{first(arm) / first('fp32'):.1%}",
                          f"{a[('mAP', 'mean')]:.4f} ({a[('mAP', 'min')]:.4f}-{a[('mAP', 'max')]:.4f})", f"{a[('heldout_f1', 'mean')]:.4f}", eq])
            if name == 'planet_sample' and arm != 'fp32':
                share, inside = first(arm) / first('fp32'), lo <= a[('mAP', 'mean')] <= hi
                verdict.append(f"planet_sample: the {names[arm]} run (features by {'ONNX Runtime' if rt == 'onnx' else 'PyTorch'}) took {share:.1%} of the "
                               f"PyTorch fp32 run (target at most 60%: {'met' if share <= 0.6 else 'MISSED'}); its mean mAP is "
                               f"{'within' if inside else 'OUTSIDE'} the fp32 seed range; it labels {eq} of the validation images as the fp32 run does.")
    body += table(['set', 'run', 'first run (s)', 'of the fp32 run', 'mAP mean (range)', 'held-out F1', 'validation label sets as the fp32 run'], trows) + "\n\n"
    body += table(['set', 'validation images', 'label sets equal in bf16', 'largest probability change'],
                     [[n, k, f'{s:.2%}', f'{d:.4f}'] for n, s, d, k in agree]) + "\n\n"
    if runtimes:
        body += table(['planet_sample, Lite0 224 px', 'predict_files img/s (256 JPEGs)', 'label sets equal to PyTorch fp32 (250 valid)',
                       'largest probability change'], runtimes) + "\n\n"
    for n, s, d, k in agree:
        verdict.append(f"{n}: {s:.2%} of the label sets agree (target at least 99.5%: {'met' if s >= 0.995 else 'MISSED'}).")
    if runtimes:
        sp = {r[0].split(' (')[0]: float(r[1]) for r in runtimes}; ag = {r[0].split(' (')[0]: r[2] for r in runtimes}
        verdict.append(f"ONNX Runtime fp32 predicts at {sp['ONNX Runtime fp32'] / sp['PyTorch fp32']:.2f}x PyTorch fp32's speed with {ag['ONNX Runtime fp32']} of "
                       f"the label sets equal, so `predict` uses model.onnx once `export_onnx` has checked it; int8 runs at "
                       f"{sp['ONNX Runtime int8'] / sp['PyTorch fp32']:.2f}x with {ag['ONNX Runtime int8']} equal, and is not used.")
    ok = all(s >= 0.995 for _, s, _, _ in agree)
    verdict.append("bf16 passes the agreement target: `auto` could use it." if ok else
                   "bf16 changes too many label sets against fp32, so `precision='auto'` stays fp32; bf16 is there for a user to choose. "
                   "`'auto'` gains its speed from ONNX Runtime instead, which computes the same float32 features.")
    body += '\n'.join(f'- {v}' for v in lines[:1] + verdict) + '\n'
    append_results('Precision and runtime: float32, bfloat16 and ONNX Runtime', f"{', '.join(sets)}; seeds {args.seeds}; first seed's runs from an empty cache",
                   body)

if __name__ == '__main__': main()
