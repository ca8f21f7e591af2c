"""Write README.md from nbs/index.ipynb (cells, hidden ones left out, and their saved outputs).

`nbdev-readme` does the same through Quarto; this script needs only nbdev, so the README can be
regenerated, and checked for being in sync, on machines without Quarto. `--check` exits 1 if the
README on disk differs from what the notebook gives."""
import sys
from nbdev.config import get_config
from nbdev.process import NBProcessor

_skip = {'hide', 'default_exp', 'export', 'exporti', 'exports'}

def _out(o):
    "Markdown for one saved cell output"
    if o.output_type == 'stream': return f"```\n{''.join(o.text).rstrip()}\n```"
    data = o.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown']).rstrip()
    if 'text/plain' in data: return f"```\n{''.join(data['text/plain']).rstrip()}\n```"
    return ''

def render(nb_path):
    "README text for the notebook at `nb_path`"
    parts = []
    for c in NBProcessor(nb_path, rm_directives=True, process=True).nb.cells:
        if _skip & set(getattr(c, 'directives_', None) or {}): continue
        src = c.source.strip()
        if c.cell_type == 'markdown':
            if src: parts.append(src)
            continue
        if src: parts.append(f"```python\n{src}\n```")
        parts += [s for s in map(_out, c.get('outputs', [])) if s]
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    cfg = get_config()
    txt, dest = render(cfg.nbs_path/cfg.readme_nb), cfg.config_path/'README.md'
    if '--check' in sys.argv:
        if not dest.exists() or dest.read_text() != txt:
            sys.exit(f"README.md is out of date with nbs/{cfg.readme_nb}: run `python .ci/readme.py` and commit the result.")
    else: dest.write_text(txt)
