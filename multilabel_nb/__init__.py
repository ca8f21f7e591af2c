"""Multi-label image classification with fastai: a notebook course and a library with tuned thresholds, honest metrics and an offline path

```python
from multilabel_nb.vision import *
from multilabel_nb.core import *
from multilabel_nb.files import *
from multilabel_nb.options import *
from multilabel_nb.runtime import *
from multilabel_nb.scrape import *
from multilabel_nb.data import *
from multilabel_nb.loaders import *
from multilabel_nb.images import *
from multilabel_nb.cache import *
from multilabel_nb.learner import *
from multilabel_nb.probe import *
from multilabel_nb.loss import *
from multilabel_nb.metrics import *
from multilabel_nb.thresholds import *
from multilabel_nb.compare import *
from multilabel_nb.pytorch import *
from multilabel_nb.inference import *
from multilabel_nb.serve import *
from multilabel_nb.resume import *
from multilabel_nb.training import *
from multilabel_nb.review import *
import multilabel_nb.vision, multilabel_nb.core, multilabel_nb.files, multilabel_nb.options, multilabel_nb.runtime, multilabel_nb.scrape, multilabel_nb.data, multilabel_nb.loaders, multilabel_nb.images, multilabel_nb.cache, multilabel_nb.learner, multilabel_nb.probe, multilabel_nb.loss, multilabel_nb.metrics, multilabel_nb.thresholds, multilabel_nb.compare, multilabel_nb.pytorch, multilabel_nb.inference, multilabel_nb.serve, multilabel_nb.resume, multilabel_nb.training, multilabel_nb.review
__all__ = [n for m in (multilabel_nb.vision, multilabel_nb.core, multilabel_nb.files, multilabel_nb.options, multilabel_nb.runtime, multilabel_nb.scrape, multilabel_nb.data, multilabel_nb.loaders, multilabel_nb.images, multilabel_nb.cache, multilabel_nb.learner, multilabel_nb.probe, multilabel_nb.loss, multilabel_nb.metrics, multilabel_nb.thresholds, multilabel_nb.compare, multilabel_nb.pytorch, multilabel_nb.inference, multilabel_nb.serve, multilabel_nb.resume, multilabel_nb.training, multilabel_nb.review) for n in m.__all__]
```"""

__version__ = "0.1.0"
