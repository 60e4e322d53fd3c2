#!/usr/bin/env python3
"""PIL side of genlab's PNG text-chunk compatibility test.

  png_text.py read FILE          verify FILE (CRCs included), print its
                                 "parameters" text as JSON (null if absent)
  png_text.py write FILE TEXT Z  write a 4x3 RGB PNG whose "parameters" are
                                 TEXT, added as AUTOMATIC1111 does with
                                 PngInfo.add_text (zip=True if Z is "1")
"""
import json
import sys

from PIL import Image, PngImagePlugin


def main():
    if sys.argv[1] == "read":
        with Image.open(sys.argv[2]) as im:
            im.verify()  # checks every chunk's CRC
        with Image.open(sys.argv[2]) as im:
            im.load()
            print(json.dumps({"parameters": im.info.get("parameters"), "size": list(im.size)}))
    elif sys.argv[1] == "write":
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", sys.argv[3], zip=sys.argv[4] == "1")
        Image.new("RGB", (4, 3), (10, 20, 30)).save(sys.argv[2], pnginfo=info)
    else:
        sys.exit("usage: png_text.py read FILE | write FILE TEXT Z")


if __name__ == "__main__":
    main()
