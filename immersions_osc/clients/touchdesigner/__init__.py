"""The TouchDesigner client: build_network.py (run from TouchDesigner's Textport) and the Python its DATs
import by name -- session.py, osc_in_callbacks.py, script_chop_callbacks.py -- from this installed package,
so a project needs no checkout and no sys.path lines.  (A package, so that TouchDesigner's Python can
import it; `immersions-osc clients export` copies the scripts without this file.)"""
