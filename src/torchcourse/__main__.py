import sys

from torchcourse.cli import main

sys.exit(main())
