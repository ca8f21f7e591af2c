"""One very large photo: the memory and time to read an 88-megapixel image (9,400 x 9,360 pixels) at 224 px.

A phone panorama or a scan can be this large. Each case runs in a fresh Python process that first imports what it
uses, so the figure is the peak resident memory (RSS) above that process's own baseline, and the seconds of the read:

- `read_image(f, 224)`, the library's reader (lesson 14): a JPEG is decoded at a reduced scale (`draft`), and another
  format is averaged down (`reduce`) before its conversions;
- the plain recipe, `Image.open(f).convert('RGB').resize((224, 224))`, for comparison: it holds the full-size image,
  and a copy for each conversion.

The images are made here: a smooth colour field with a few shapes, saved as a PNG and as a quality-90 JPEG."""
import sys, json, tempfile, shutil, argparse
from pathlib import Path
from _common import append_results, md_table, peak_rss_mb, run_child, Timer

W, H, SIZE = 9_400, 9_360, 224

def make(folder:Path):
    "The test image, as PNG and JPEG"
    import numpy as np
    from PIL import Image, ImageDraw
    y, x = np.mgrid[0:H:8, 0:W:8].astype(np.float32)
    small = np.stack([128 + 100 * np.sin(x / 300), 128 + 100 * np.cos(y / 250), 128 + 60 * np.sin((x + y) / 500)], -1)
    im = Image.fromarray(small.clip(0, 255).astype(np.uint8)).resize((W, H), Image.BILINEAR)
    d = ImageDraw.Draw(im)
    for i in range(12): d.ellipse([i * 700, i * 600, i * 700 + 1500, i * 600 + 1200], fill=(30 * i % 255, 200, 90))
    im.save(folder/'big.png', compress_level=1); im.save(folder/'big.jpg', quality=90)

def child(how, f):
    "Read `f` at SIZE px the way `how` says, in this fresh process; print the peak RSS above the baseline, and the seconds"
    from PIL import Image
    Image.MAX_IMAGE_PIXELS = None                     # the plain recipe would otherwise stop at PIL's own bomb limit
    from multilabel_nb.images import read_image
    base = peak_rss_mb()
    with Timer() as t:
        im = read_image(f, SIZE, max_pixels=W * H) if how == 'read_image' else Image.open(f).convert('RGB').resize((SIZE, SIZE))
    assert im.size == (SIZE, SIZE)
    print(json.dumps({'MB': peak_rss_mb() - base, 's': t.s}))

def main():
    import pandas as pd
    work = Path(tempfile.mkdtemp(prefix='bench_large_'))
    try:
        make(work)
        rows = {}
        for fmt in ('jpg', 'png'):
            f = work/f'big.{fmt}'
            for how, name in (('read_image', 'read_image'), ('plain', "Image.open().convert('RGB').resize()")):
                r = min((run_child('large_image.py', [how, f])[-1] for _ in range(2)), key=lambda o: o['MB'])
                rows[f"{fmt.upper()} ({f.stat().st_size / 2**20:.0f} MB file), {name}"] = {'peak RSS above baseline, MB': f"{r['MB']:.0f}", 'seconds': f"{r['s']:.2f}"}
    finally: shutil.rmtree(work, ignore_errors=True)
    tab = pd.DataFrame(rows).T
    tab.index.name = 'case'
    append_results('One very large image', f"a synthetic {W:,} x {H:,} image ({W * H / 1e6:.0f} megapixels), read at {SIZE} px; "
                   "the lower peak of two fresh processes per case", md_table(tab, '.2f'))

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child': child(*sys.argv[2:4])
    else:
        argparse.ArgumentParser(description=__doc__.split('\n')[0]).parse_args()
        main()
