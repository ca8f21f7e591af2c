"""Quality at equal compute: the fastbook chapter 6 recipe against the library's default recipe, on real data
(planet_sample, fashion6; each skipped if absent) and on the built-in digits, over several seeds.

Both recipes fine-tune the same offline ImageNet EfficientNet-Lite0 at the same image size, batch size and epochs:
- fastbook: item_tfms `RandomResizedCrop(size, min_scale=0.35)`, `fine_tune(epochs, base_lr=3e-3)`, one global threshold 0.2;
- library: what `multilabel-nb train --arch efficientnet_lite0` does: `multilabel_block` (Resize, no augmentation),
  `fine_tune(epochs, 1e-2)`, `loader_workers()`, per-class thresholds tuned on validation predictions.
Tuned thresholds are scored honestly: the validation set is cut into stratified folds, and each fold is decided with the
thresholds tuned on the other folds (out-of-fold). Their in-sample score (tuned and scored on the same images) is shown
beside it to show how much it flatters. Seeds change the head's initial weights, the batch order and the augmentation;
the split stays fixed. Spread = max - min over seeds.
Target: library macro F1 (tuned) above fastbook's by more than the seed-to-seed spread on planet_sample and fashion6."""
import argparse, warnings
from _common import Timer, append_results, md_table, shared_set, planet_df
from multilabel_nb.core import *
from multilabel_nb.data import *
from multilabel_nb.loss import seed_run
from multilabel_nb.metrics import multilabel_scores, mean_ap, per_class_thresholds
from multilabel_nb.inference import multilabel_learner
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

FREEZE_EPOCHS = 1
METRICS = ['accuracy_multi', 'exact_match', 'f1_macro', 'f1_samples', 'mAP']

def datasets(only=None):
    "name -> (DataFrame with path/labels/is_valid, image size, batch size, epochs, description)"
    res = {}
    planet = shared_set('planet_sample')
    if planet:
        df = planet_df(planet)
        df['is_valid'] = False
        df.loc[list(StratifiedSplitter(0.25, 42)(df)[1]), 'is_valid'] = True
        res['planet_sample'] = (df, 128, 64, 3, 'planet_sample: 1,000 satellite JPEGs, 17 tags, stratified 75/25 split, 128 px')
    fashion = shared_set('fashion6')
    if fashion:
        df = load_folders(fashion, sep='_', valid_pct=0.3, seed=42)
        res['fashion6'] = (df, 128, 16, 6, f'fashion6: {len(df)} apparel JPEGs, colour + item labels, stratified 70/30 split, 128 px')
    df = load_pascal(make_digits())
    res['digits'] = (df, 64, 64, 2, 'built-in digits: 1,500 train / 500 valid, 0-3 digits per image, resized 48 -> 64 px')
    return {k: v for k, v in res.items() if only is None or k in only}

def oof_decisions(probs, targs, n_folds, seed):
    "Decisions where each fold of the validation set uses per-class thresholds tuned on the other folds"
    dec = torch.zeros_like(targs, dtype=torch.bool)
    folds = MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros(len(targs)), targs.numpy())
    for fit, held in folds: dec[held] = probs[held] > per_class_thresholds(probs[fit], targs[fit])
    return dec

def scores(probs, targs, dec):
    "The metrics of the decisions `dec` (mAP, which needs no threshold, from `probs`)"
    s = multilabel_scores(dec.float(), targs, 0.5)   # 0/1 "probabilities" at 0.5 reproduce the decisions exactly
    s['mAP'] = mean_ap(probs, targs)
    return s[METRICS]

def train(df, size, bs, epochs, seed, recipe):
    "Validation probabilities and targets of one recipe"
    if recipe == 'fastbook':
        dls = DataBlock(blocks=(ImageBlock, MultiCategoryBlock), get_x=get_x, get_y=get_y, splitter=ColSplitter('is_valid'),
                        item_tfms=RandomResizedCrop(size, min_scale=0.35)).dataloaders(df, bs=bs)
        seed_run(dls, seed)
        learn = multilabel_learner(dls, arch='efficientnet_lite0', thresh=0.2, metrics=partial(accuracy_multi, thresh=0.2))
        lr = 3e-3
    else:
        dls = multilabel_block(size=size, aug=False).dataloaders(df, bs=bs, num_workers=loader_workers())
        seed_run(dls, seed)
        learn = multilabel_learner(dls, arch='efficientnet_lite0')
        lr = 1e-2
    with learn.no_bar(), learn.no_logging():
        learn.fine_tune(epochs, lr, freeze_epochs=FREEZE_EPOCHS)
        probs, targs = learn.get_preds()
    return probs, targs

def run_dataset(df, size, bs, epochs, seeds, n_folds):
    rows, secs = [], []
    for seed in seeds:
        for recipe in ('fastbook', 'library'):
            with Timer() as t: probs, targs = train(df, size, bs, epochs, seed, recipe)
            secs.append(t.s)
            if recipe == 'fastbook':
                rows.append(('fastbook: threshold 0.2', seed, scores(probs, targs, probs > 0.2)))
                rows.append(('fastbook model, per-class tuned (out-of-fold)', seed, scores(probs, targs, oof_decisions(probs, targs, n_folds, seed))))
            else:
                rows.append(('library: per-class tuned (out-of-fold)', seed, scores(probs, targs, oof_decisions(probs, targs, n_folds, seed))))
                rows.append(('library: per-class tuned (in-sample, flattering)', seed, scores(probs, targs, probs > per_class_thresholds(probs, targs))))
                rows.append(('library model, threshold 0.5', seed, scores(probs, targs, probs > 0.5)))
    res = pd.DataFrame([{'recipe': r, 'seed': s, **sc} for r, s, sc in rows])
    return res, float(np.mean(secs))

def summarise(res):
    "mean (spread) per recipe and metric, in the order the rows were added"
    g = res.groupby('recipe', sort=False)[METRICS]
    mean, spread = g.mean(), g.max() - g.min()
    tab = pd.DataFrame({c: [f"{m:.3f} ({s:.3f})" for m, s in zip(mean[c], spread[c])] for c in METRICS}, index=mean.index)
    return tab, mean, spread

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3, help='number of seeds (at least 3 for a spread)')
    p.add_argument('--folds', type=int, default=5, help='folds of the validation set for out-of-fold thresholds')
    p.add_argument('--only', nargs='*', help='data sets to run (planet_sample, fashion6, digits)')
    a = p.parse_args()
    seeds = list(range(42, 42 + a.seeds))
    warnings.simplefilter('ignore')
    sections, data = [], []
    for name, (df, size, bs, epochs, desc) in datasets(a.only).items():
        n_train, n_valid = int((~df.is_valid).sum()), int(df.is_valid.sum())
        print(f"{name}: {n_train} train / {n_valid} valid, {len(seeds)} seeds x 2 recipes ...", flush=True)
        res, secs = run_dataset(df, size, bs, epochs, seeds, a.folds)
        tab, mean, spread = summarise(res)
        lib, fb = 'library: per-class tuned (out-of-fold)', 'fastbook: threshold 0.2'
        diff = mean.loc[lib, 'f1_macro'] - mean.loc[fb, 'f1_macro']
        noise = max(spread.loc[lib, 'f1_macro'], spread.loc[fb, 'f1_macro'])
        paired = (res[res.recipe == lib].f1_macro.values - res[res.recipe == fb].f1_macro.values)
        verdict = 'met' if diff > noise else f'missed: the gap is {diff:+.3f} against a spread of {noise:.3f}'
        tab.index.name = 'recipe (mean over seeds, spread in brackets)'
        sections.append(f"### {name}\n\n{desc}. Batch {bs}, fine_tune({epochs}, freeze_epochs={FREEZE_EPOCHS}): {epochs + FREEZE_EPOCHS} "
                        f"epochs for each recipe, {secs:.0f} s per run on average.\n\n{md_table(tab)}\n\n"
                        f"- Macro F1, library tuned (out-of-fold) minus fastbook at 0.2: **{diff:+.3f}** "
                        f"(per seed: {', '.join(f'{d:+.3f}' for d in paired)}); largest seed spread {noise:.3f}. Target: {verdict}.")
        data.append(desc)
        print(sections[-1], flush=True)
    body = (f"EfficientNet-Lite0 (offline ImageNet weights), seeds {seeds}, thresholds tuned out-of-fold on {a.folds} folds "
            "of the validation set.\n\n" + '\n\n'.join(sections))
    append_results('Quality at equal compute: fastbook recipe against the library recipe', '; '.join(data), body)

if __name__ == '__main__': main()
