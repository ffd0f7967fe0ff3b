"""The bundled clients (patches/, max_patches/, td_network/, docs/clients.md) against the OSC contract in
docs/osc.md, and the Max patchers' structure.  No client software needed: the files are parsed."""
import ast
import glob
import json
import os
import re

import pytest

from service_harness import REPO

CLIENT_DIRS = ["patches", "max_patches", "td_network"]
ADDRESS = re.compile(r"(?<![\w/.])/immersions(?:/[A-Za-z0-9_]+)+")  # not TD paths like /project1/immersions/x


def osc_tables():
    """({control address: pattern}, {message address: pattern}) from docs/osc.md's two tables."""
    controls, messages, table = {}, {}, None
    with open(os.path.join(REPO, "docs", "osc.md")) as f:
        for line in f:
            if line.startswith("## "):
                table = controls if "Controls" in line else messages if "Messages" in line else None
            m = re.match(r"\| `(/immersions/[^`]+)` \| `([^`]+)`", line)
            if m and table is not None:
                table[m.group(1)] = m.group(2)
    assert len(controls) > 20 and len(messages) > 5, "docs/osc.md tables not found"
    return controls, messages


CONTROLS, MESSAGES = osc_tables()


def pattern_regex(pattern: str) -> str:
    """docs/osc.md pattern ('s i [f]', 'i*', 'f*', '-') -> a regex over type-tag strings."""
    if pattern == "-":
        return ""
    out = []
    for part in pattern.split():
        optional = part.startswith("[")
        part = part.strip("[]")
        piece = part[0] + ("+" if part.endswith("*") else "")
        out.append(f"(?:{piece})?" if optional else piece)
    return "".join(out)


def matches(pattern: str, tags: str) -> bool:
    return re.fullmatch(pattern_regex(pattern), tags) is not None


def test_pattern_matcher():
    assert matches("s i [f]", "si") and matches("s i [f]", "sif") and not matches("s i [f]", "sf")
    assert matches("i*", "iii") and not matches("i*", "")
    assert matches("-", "") and not matches("-", "i")
    assert matches("s i [s]", "sis") and not matches("s i [s]", "sii")


def token_type(token: str) -> str:
    try:
        int(token)
        return "i"
    except ValueError:
        pass
    try:
        float(token)
        return "f"
    except ValueError:
        return "s"


def client_files():
    files = [os.path.join(REPO, "docs", "clients.md")]
    for d in CLIENT_DIRS:
        files += [p for p in glob.glob(os.path.join(REPO, d, "**", "*"), recursive=True)
                  if os.path.isfile(p) and "__pycache__" not in p and not p.endswith(".pyc")]
    return files


# --- (1) every address anywhere in the clients exists ------------------------------------------------------------

def test_every_address_in_the_clients_is_in_the_contract():
    seen = set()
    for path in client_files():
        with open(path, errors="replace") as f:
            text = f.read()
        for address in ADDRESS.findall(text):
            seen.add(address)
            assert address in CONTROLS or address in MESSAGES, f"{os.path.relpath(path, REPO)}: {address} is not in docs/osc.md"
    # the clients talk about a good part of the contract (not an empty folder passing trivially)
    assert len(seen & set(CONTROLS)) >= 10 and len(seen & set(MESSAGES)) >= 5


# --- (2) typed uses: what each client sends, with its type tags ------------------------------------------------

def sc_sent():
    """SuperCollider: the declared control table (imm.controls; sendControl types every argument by it)."""
    with open(os.path.join(REPO, "patches", "immersions.scd")) as f:
        text = f.read()
    table = re.search(r"imm\.controls = Dictionary\[(.*?)\];", text, re.S).group(1)
    declared = dict(re.findall(r"'(/immersions/[^']+)' -> \"([ifs]*)\"", table))
    assert declared
    # everything the patch sends or maps is declared
    used = set(re.findall(r"sendControl\('(/immersions/[^']+)'", text)) | set(re.findall(r"address: '(/immersions/[^']+)'", text))
    assert used and used <= set(declared), used - set(declared)
    return [("patches/immersions.scd", a, t) for a, t in declared.items()]


def pd_objects(path):
    """[(index, text)] of a Pd patch's boxes (objects, messages, comments, atoms count alike)."""
    with open(path) as f:
        records = [r.strip() for r in re.split(r"(?<!\\);\n", f.read()) if r.strip()]
    boxes = [r for r in records if re.match(r"#X (obj|msg|text|floatatom|symbolatom|listbox) ", r)]
    return [(i, re.sub(r"^#X \w+ \d+ \d+ ?", "", b)) for i, b in enumerate(boxes)], records


def pd_sent():
    out = []
    for path in glob.glob(os.path.join(REPO, "patches", "*.pd")):
        objects, _ = pd_objects(path)
        for _, text in objects:
            m = re.match(r"oscformat(?: -f (\S+))? (.+)$", text)
            if m:
                out.append((os.path.relpath(path, REPO), "/" + "/".join(m.group(2).split()), m.group(1) or ""))
    assert out
    return out


def max_boxes(path):
    with open(path) as f:
        patcher = json.load(f)["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(ln["patchline"]["source"], ln["patchline"]["destination"]) for ln in patcher["lines"]]
    return boxes, lines


def max_output_type(box) -> str:
    """The OSC type an object sends: scale/flonum float, clip/toggle/number int (by their arguments)."""
    text = box.get("text", "")
    words = text.split()
    if box["maxclass"] == "toggle" or box["maxclass"] == "number":
        return "i"
    if box["maxclass"] == "flonum":
        return "f"
    if words and words[0] == "scale":
        return "f" if any("." in w for w in words[3:5]) else "i"
    if words and words[0] in ("clip", "-", "+"):
        return "f" if any("." in w for w in words[1:]) else "i"
    raise AssertionError(f"cannot tell the output type of {text or box['maxclass']!r}: keep the chains simple")


def max_sent():
    out = []
    for path in glob.glob(os.path.join(REPO, "max_patches", "*.max*")):
        boxes, lines = max_boxes(path)
        rel = os.path.relpath(path, REPO)
        for box_id, box in boxes.items():
            words = box.get("text", "").split()
            if box["maxclass"] == "message" and words and words[0].startswith("/immersions/"):
                out.append((rel, words[0], "".join(token_type(w) for w in words[1:])))
            elif box["maxclass"] == "newobj" and words[:1] == ["prepend"] and words[1].startswith("/immersions/"):
                sources = [boxes[s[0]] for s, d in lines if d == [box_id, 0]]
                assert sources, f"{rel}: nothing feeds {box['text']!r}"
                for source in sources:
                    out.append((rel, words[1], "".join(token_type(w) for w in words[2:]) + max_output_type(source)))
    assert out
    return out


def td_sent():
    path = os.path.join(REPO, "td_network", "build_network.py")
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SENT" for t in node.targets):
            return [("td_network/build_network.py", a, t) for a, t in ast.literal_eval(node.value).items()]
    raise AssertionError("td_network/build_network.py has no SENT table")


def all_sent():
    return sc_sent() + pd_sent() + max_sent() + td_sent()


def test_what_the_clients_send_matches_the_contract():
    sent = all_sent()
    for where, address, tags in sent:
        assert address in CONTROLS, f"{where}: sends {address}, which the service does not accept"
        assert matches(CONTROLS[address], tags), \
            f"{where}: sends {address} with types {tags or '(none)'}; docs/osc.md says {CONTROLS[address]}"
    clients = {where.split("/")[0] for where, _, _ in sent}
    assert clients == {"patches", "max_patches", "td_network"}
    # every client subscribes (otherwise nothing comes back)
    for client in clients:
        assert any(w.startswith(client) and a == "/immersions/stream/subscribe" for w, a, _ in sent), client


def test_a_wrong_type_would_be_caught():
    """The checks above can fail: a float where the contract wants a string, a missing argument."""
    assert not matches(CONTROLS["/immersions/stream/subscribe"], "fis")
    assert not matches(CONTROLS["/immersions/player/volume"], "")
    assert not matches(CONTROLS["/immersions/target/channel"], "sfs")


def test_what_max_unpacks_matches_the_contract():
    """Max's [route /immersions/status ...] -> [unpack ...]: the unpack's types are the message's."""
    letter = lambda w: "f" if w.endswith(".") else "s" if w == "s" else "i"  # noqa: E731
    checked = 0
    for path in glob.glob(os.path.join(REPO, "max_patches", "*.max*")):
        boxes, lines = max_boxes(path)
        for box_id, box in boxes.items():
            words = box.get("text", "").split()
            if words[:1] != ["route"] or not any(w.startswith("/immersions/") for w in words):
                continue
            addresses = words[1:]
            for address in addresses:
                assert address in MESSAGES, f"{path}: routes {address}, which the service never sends"
            for (src, outlet), (dst, _) in lines:
                if src == box_id and outlet < len(addresses) and boxes[dst].get("text", "").startswith("unpack"):
                    types = "".join(letter(w) for w in boxes[dst]["text"].split()[1:])
                    assert matches(MESSAGES[addresses[outlet]], types), (addresses[outlet], types)
                    checked += 1
    assert checked >= 1


def test_pd_routes_name_real_messages():
    """Pd: [route immersions] -> [route status ack ...]: each word starts some message's address."""
    second = {a.split("/")[2] for a in MESSAGES}
    objects, _ = pd_objects(os.path.join(REPO, "patches", "immersions.pd"))
    routes = [t.split()[1:] for _, t in objects if t.startswith("route status ")]
    assert routes
    for words in routes:
        assert set(words) <= second, set(words) - second


# --- (3) Max patcher structure -----------------------------------------------------------------------------------

MAX_FILES = sorted(glob.glob(os.path.join(REPO, "max_patches", "*.maxpat")) +
                   glob.glob(os.path.join(REPO, "max_patches", "*.maxhelp")))


def test_both_max_files_exist():
    names = {os.path.basename(p) for p in MAX_FILES}
    assert {"immersions.maxpat", "immersions.maxhelp"} <= names


@pytest.mark.parametrize("path", MAX_FILES, ids=os.path.basename)
def test_max_patcher_structure(path):
    with open(path) as f:
        doc = json.load(f)
    patcher = doc["patcher"]
    assert isinstance(patcher["boxes"], list) and isinstance(patcher["lines"], list) and patcher["boxes"]
    boxes = {}
    for entry in patcher["boxes"]:
        box = entry["box"]
        for key in ("id", "maxclass", "numinlets", "numoutlets", "patching_rect"):
            assert key in box, f"box without {key}: {box}"
        assert box["id"] not in boxes, f"duplicate id {box['id']}"
        assert isinstance(box["numinlets"], int) and isinstance(box["numoutlets"], int)
        assert len(box["patching_rect"]) == 4
        if box["maxclass"] in ("newobj", "message", "comment"):
            assert isinstance(box.get("text"), str), box
        if box["numoutlets"]:
            assert len(box.get("outlettype", [])) == box["numoutlets"], box
        boxes[box["id"]] = box
    for entry in patcher["lines"]:
        line = entry["patchline"]
        (src, outlet), (dst, inlet) = line["source"], line["destination"]
        assert src in boxes and dst in boxes, line
        assert 0 <= outlet < boxes[src]["numoutlets"], f"{src} has no outlet {outlet}"
        assert 0 <= inlet < boxes[dst]["numinlets"], f"{dst} has no inlet {inlet}"


def pd_canvases(path):
    """[(box texts, connects)] for every canvas of a Pd file (subpatches included): a subpatch is one
    box of its parent ('#X restore'), its own boxes are numbered from 0."""
    with open(path) as f:
        records = [r.strip() for r in re.split(r"(?<!\\);\n", f.read()) if r.strip()]
    assert records[0].startswith("#N canvas")
    done, stack = [], []
    for r in records:
        if r.startswith("#N canvas"):
            stack.append(([], []))
        elif r.startswith("#X restore"):
            done.append(stack.pop())
            stack[-1][0].append(r)
        elif r.startswith("#X connect"):
            stack[-1][1].append(list(map(int, r.split()[2:6])))
        elif r.startswith(("#X obj", "#X msg", "#X text", "#X floatatom", "#X symbolatom", "#X listbox")):
            stack[-1][0].append(r)
    assert len(stack) == 1, "unbalanced #N canvas / #X restore"
    return done + stack


INLETS_OUTLETS = {  # objects whose inlet/outlet count is fixed (others: checked by pd itself in the e2e tests)
    "t": None, "r": (0, 1), "s": (1, 0), "print": (1, 0), "loadbang": (0, 1), "oscparse": (1, 1),
    "netsend": (1, 2), "spigot": (2, 1),
    "until": (2, 1), "f": (2, 1), "tabread": (1, 1), "tabwrite": (2, 0), "moses": (2, 2), "change": (1, 1),
}


def pd_ports(text: str):
    """(inlets, outlets) of a box where this test knows them, else None."""
    words = text.split()
    if text.startswith("#X msg"):
        return 1, 1
    if not text.startswith("#X obj") or len(words) < 5:
        return None
    name, args = words[4], words[5:]
    if name in ("t", "trigger"):
        return 1, len(args)
    if name == "unpack":
        return 1, len(args)
    if name in ("route", "sel", "select"):
        return 2 if len(args) == 1 else 1, len(args) + 1
    if name == "pack":
        return len(args), 1
    ports = INLETS_OUTLETS.get(name)
    return ports


def test_pd_patch_structure():
    """Pd: in every canvas, each '#X connect' joins existing boxes, on outlets and inlets those
    boxes have (where this test knows them; pd itself checks the rest in the e2e tests)."""
    for path in glob.glob(os.path.join(REPO, "patches", "*.pd")):
        canvases = pd_canvases(path)
        assert sum(1 for _, c in canvases if c) >= 4  # the subpatches
        for boxes, connects in canvases:
            n = len(boxes)
            for a, outlet, b, inlet in connects:
                assert 0 <= a < n and 0 <= b < n, (path, a, b)
                src, dst = pd_ports(boxes[a]), pd_ports(boxes[b])
                if src:
                    assert outlet < src[1], (boxes[a], outlet)
                if dst:
                    assert inlet < dst[0], (boxes[b], inlet)


def test_pd_patch_is_what_its_generator_writes():
    """patches/immersions.pd is written by patches/make_pd_patch.py (run it after editing)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_pd_patch", os.path.join(REPO, "patches", "make_pd_patch.py"))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(REPO, "patches", "immersions.pd")) as f:
        assert f.read() == gen.patch(), "patches/immersions.pd is out of date: python patches/make_pd_patch.py"
    # every control of the patch is in the generator's map, with a distinct default CC
    assert len({c[1] for c in gen.CONTROLS}) == len(gen.CONTROLS)
