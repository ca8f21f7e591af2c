"""Inference: images/s of the library's batch prediction (`predict_files`, what `multilabel-nb predict` runs) against a
loop of `learn.predict`, on the same files and model, checking that both give the same labels.

Two cases: the default model for the digits (small_cnn, 48 px) on the built-in digits, and the default model for photos
(EfficientNet-Lite0 at 224 px, its own input size) on planet_sample JPEGs (skipped if that data set is absent).
Targets: batch prediction at least 10x the `learn.predict` loop for small_cnn, and at least 3x for EfficientNet-Lite0."""
import argparse, warnings
from multilabel_nb.vision import *
from _common import Timer, append_results, md_table, shared_set, planet_df
from multilabel_nb.core import *
from multilabel_nb.data import *
from multilabel_nb.images import *
from multilabel_nb.cache import *
from multilabel_nb.loaders import load_pascal
from multilabel_nb.learner import multilabel_learner, seed_run
from multilabel_nb.inference import predict_files

def compare(learn, files, n_loop):
    "images/s of `predict_files` on `files` and of a `learn.predict` loop on the first `n_loop` of them"
    with learn.no_bar():
        learn.predict(files[0]); predict_files(learn, files[:8])   # warm-up, not timed
        with Timer() as tb: batch = predict_files(learn, files, bs=64, probs=True)
        loop = []
        with Timer() as tl:
            for f in files[:n_loop]: loop.append(list(learn.predict(f)[0]))
    same = (batch['labels'].iloc[:n_loop].tolist() == loop)
    return {'images (batch / loop)': f"{len(files)} / {n_loop}", 'predict_files images/s': len(files) / tb.s,
            'learn.predict loop images/s': n_loop / tl.s, 'speed-up': (len(files) / tb.s) / (n_loop / tl.s), 'same labels': same}

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--n-loop', type=int, default=200, help='images for the learn.predict loop')
    n_loop = p.parse_args().n_loop
    rows, data = {}, []

    df = load_pascal(make_digits())
    dls = multilabel_dls(df, size=48, bs=64)
    seed_run(dls, 42)
    learn = multilabel_learner(dls)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 1e-2)
    files = L(list(df.path[df.is_valid].map(Path)))
    rows['small_cnn, 48 px, digits PNG'] = compare(learn, files, n_loop)
    data.append(f"built-in digits ({len(files)} validation PNGs)")

    planet = shared_set('planet_sample')
    if planet:
        pdf = planet_df(planet)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            pdls = multilabel_dls(pdf, size=224, bs=64)
        plearn = multilabel_learner(pdls, arch='efficientnet_lite0')   # pretrained body; speed does not depend on training
        pfiles = L(list(pdf.path[pdf.is_valid].map(Path)))
        rows['EfficientNet-Lite0, 224 px, planet JPEG'] = compare(plearn, pfiles, min(n_loop, len(pfiles)))
        data.append(f"planet_sample ({len(pfiles)} JPEGs, 256 px)")

    # Where predict_files' time goes, on the digits: decoding alone, the model alone on decoded images, and the whole,
    # at one decoding thread and at the default (one per core); and a learn.predict split the same way
    from multilabel_nb.inference import as_classifier
    clf = as_classifier(learn)
    parts = {}
    for workers in (1, None):
        with Timer() as td: dec = decode_images(files, clf.size, n_workers=workers, show=False)
        with Timer() as tm: clf.probs(dec.images)
        with Timer() as tt: predict_files(clf, files, show=False, n_workers=workers)
        parts[f"{workers or 'default'} decoding thread(s)"] = {'decode images/s': len(files) / td.s, 'model images/s': len(files) / tm.s,
                                                               'predict_files images/s': len(files) / tt.s}
    with learn.no_bar():
        with Timer() as tp:
            for f in files[:n_loop]: learn.predict(f)
        dl = learn.dls.test_dl(list(files[:n_loop]), bs=1)
        with Timer() as tdl:
            for _ in dl: pass
    bounds = pd.DataFrame(parts).T
    bounds.index.name = 'small_cnn, digits'
    loop_note = (f"A learn.predict loop spends {tdl.s / tp.s:.0%} of its time building one-image batches through fastai's "
                 f"DataLoader ({n_loop / tdl.s:.0f} images/s for that alone), the rest in the model and decoding one image at a time.")

    tab = pd.DataFrame(rows).T
    tab.index.name = 'model, data'
    lines = []
    for (name, r), target in zip(rows.items(), (10, 3)):
        x = r['speed-up']
        lines.append(f"- {name}: **{x:.1f}x** (target at least {target}x: {'met' if x >= target else f'missed by {target-x:.1f}x'}).")
    d1, dd = bounds.iloc[0], bounds.iloc[-1]
    lines.append(f"- What bounds predict_files on the digits: decoding runs at {dd['decode images/s']:.0f} images/s with the default threads "
                 f"({d1['decode images/s']:.0f} with one), the model at {dd['model images/s']:.0f}; the whole at {dd['predict_files images/s']:.0f}, "
                 f"so {'decoding' if dd['decode images/s'] < dd['model images/s'] else 'the model'} is the slower part. " + loop_note)
    body = (f"Batch size 64; both paths use the learner's thresholds. Warm-up calls are not timed.\n\n{md_table(tab, '.1f')}\n\n"
            f"{md_table(bounds, '.0f')}\n\n" + '\n'.join(lines))
    append_results('Inference: batch prediction against a learn.predict loop', '; '.join(data), body)

if __name__ == '__main__': main()
