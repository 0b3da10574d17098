#!/usr/bin/env python
from fangkong.cli import main

if __name__ == "__main__":
    main()
