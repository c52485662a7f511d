#!/usr/bin/env python3
"""Prints the data an fhist HTML report embeds (<script id="fhist-data">) as JSON. Usage: page_json.py PAGE.html"""
import json, re, sys

html = open(sys.argv[1]).read()
block = re.search(r'<script type="application/json" id="fhist-data">(.*?)</script>', html, re.S).group(1)
json.dump(json.loads(block), sys.stdout)
