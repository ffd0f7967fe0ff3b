"""The bundled clients (immersions_osc/clients/: the SuperCollider Quark, Pd, Max, TouchDesigner; docs/clients.md) against the OSC contract in
docs/osc.md, and the Max patchers' structure.  No client software needed: the files are parsed."""
import ast
import glob
import json
import os
import re

import pytest

from clients_harness import quark_rows
from fixtures import load_file
from service_harness import REPO

CLIENTS = os.path.join("immersions_osc", "clients")
SC_DIR = os.path.join(CLIENTS, "supercollider")
PD_DIR = os.path.join(CLIENTS, "pd")
MAX_DIR = os.path.join(CLIENTS, "max")
TD_DIR = os.path.join(CLIENTS, "touchdesigner")
CLIENT_DIRS = [SC_DIR, PD_DIR, MAX_DIR, TD_DIR]
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
    """SuperCollider (the Quark): every control row is sent with its OSC type (Immersions.set builds the
    message from the row: a trigger with an argument sends it as a string), and the messages the class
    sends itself, typed by how it builds each argument."""
    out = []
    for r in quark_rows():
        tags = r["type"] or ("s" if r["argument"] else "")
        out.append((os.path.join(SC_DIR, "Immersions", "Classes", "ImmersionsControls.sc"), r["address"], tags))
    kinds = {"asString": "s", "asInteger": "i", "asFloat": "f", "listenPort": "i"}
    for path in glob.glob(os.path.join(REPO, SC_DIR, "Immersions", "Classes", "*.sc")):
        with open(path, encoding="utf-8") as f:
            for address, args in re.findall(r"(?:sendMsg|this\.send)\('(/immersions/[^']+)'((?:, [^;]*?)?)\)(?:;|$)",
                                            f.read(), re.M):
                words = [a.strip() for a in args.split(",")[1:]]
                tags = "".join(next(t for k, t in kinds.items() if w.endswith(k)) for w in words)
                out.append((os.path.relpath(path, REPO), address, tags))
    assert {a for _, a, _ in out} >= {"/immersions/stream/subscribe", "/immersions/auth", "/immersions/target/layer"}
    return out


def pd_objects(path):
    """[(index, text)] of a Pd patch's boxes (objects, messages, comments, atoms count alike)."""
    with open(path) as f:
        records = [r.strip() for r in re.split(r"(?<!\\);\n", f.read()) if r.strip()]
    boxes = [r for r in records if re.match(r"#X (obj|msg|text|floatatom|symbolatom|listbox) ", r)]
    return [(i, re.sub(r"^#X \w+ \d+ \d+ ?", "", b)) for i, b in enumerate(boxes)], records


def pd_sent():
    out = []
    for path in glob.glob(os.path.join(REPO, PD_DIR, "**", "*.pd"), recursive=True):
        objects, _ = pd_objects(path)
        for _, text in objects:
            m = re.match(r"oscformat(?: -f (\S+))? (.+)$", text)
            if m:
                out.append((os.path.relpath(path, REPO), "/" + "/".join(m.group(2).split()), m.group(1) or ""))
    assert out
    return out


def max_patchers(path):
    """Every patcher of a Max file (subpatchers, e.g. help tabs, included), as dicts."""
    with open(path) as f:
        todo = [json.load(f)["patcher"]]
    while todo:
        patcher = todo.pop()
        yield patcher
        todo += [b["box"]["patcher"] for b in patcher["boxes"] if "patcher" in b["box"]]


def max_boxes_of(patcher):
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    lines = [(ln["patchline"]["source"], ln["patchline"]["destination"]) for ln in patcher["lines"]]
    return boxes, lines


def max_sources(boxes, lines, box_id, inlet=0):
    return [boxes[s[0]] for s, d in lines if d == [box_id, inlet]]


def max_list_types(boxes, lines, box) -> str:
    """The types of the list a box outputs, for lists built by [pak]/[pack] and kept in [zl reg]."""
    words = box.get("text", "").split()
    if words[:1] in (["pak"], ["pack"]):
        return "".join("s" if w in ("s", "sym", "symbol") else "f" if "." in w else "i" for w in words[1:])
    if words[:1] == ["tosymbol"]:
        return "s"
    if words[:2] == ["zl", "reg"]:
        kinds = {max_list_types(boxes, lines, src) for src in max_sources(boxes, lines, box["id"], 1)}
        assert len(kinds) == 1, f"cannot tell what [zl reg] holds: {kinds}"
        return kinds.pop()
    raise AssertionError(f"cannot tell the list types of {box.get('text') or box['maxclass']!r}")


def max_output_type(box) -> str:
    """The OSC type an object sends: by its class and arguments (keep the chains simple)."""
    text = box.get("text", "")
    words = text.split()
    if box["maxclass"] == "toggle" or box["maxclass"] == "number":
        return "i"
    if box["maxclass"] == "flonum":
        return "f"
    if words[:1] == ["f"]:
        return "f"
    if words[:1] == ["i"]:
        return "i"
    if words[:1] == ["tosymbol"]:
        return "s"
    if words and words[0] == "scale":
        return "f" if any("." in w for w in words[3:5]) else "i"
    if words and words[0] in ("clip", "-", "+", "expr"):
        return "f" if any("." in w for w in words[1:]) else "i"
    raise AssertionError(f"cannot tell the output type of {text or box['maxclass']!r}: keep the chains simple")


def max_files():
    return sorted(glob.glob(os.path.join(REPO, MAX_DIR, "**", "*.maxpat"), recursive=True) +
                  glob.glob(os.path.join(REPO, MAX_DIR, "**", "*.maxhelp"), recursive=True))


def max_sent():
    out = []
    for path in max_files():
        rel = os.path.relpath(path, REPO)
        for patcher in max_patchers(path):
            boxes, lines = max_boxes_of(patcher)
            for box_id, box in boxes.items():
                words = box.get("text", "").split()
                if box["maxclass"] == "message" and words and words[0].startswith("/immersions/"):
                    tags = ""
                    for w in words[1:]:
                        if w.startswith("$"):  # $1 $2: the list the box is sent
                            sources = max_sources(boxes, lines, box_id)
                            kinds = {max_list_types(boxes, lines, src) for src in sources}
                            assert len(kinds) == 1, f"{rel}: {box['text']!r} is fed different lists {kinds}"
                            tags += kinds.pop()[int(w[1:]) - 1]
                        else:
                            tags += token_type(w)
                    out.append((rel, words[0], tags))
                elif box["maxclass"] == "newobj" and words[:1] == ["prepend"] and words[1:2] and words[1].startswith("/immersions/"):
                    sources = max_sources(boxes, lines, box_id)
                    assert sources, f"{rel}: nothing feeds {box['text']!r}"
                    for source in sources:
                        out.append((rel, words[1], "".join(token_type(w) for w in words[2:]) + max_output_type(source)))
    assert out
    return out


def td_sent():
    path = os.path.join(REPO, TD_DIR, "session.py")
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SENT" for t in node.targets):
            out = []
            for a, t in ast.literal_eval(node.value).items():
                # '[i*]': none, one or several ints
                for tags in (["", "i", "ii"] if t == "[i*]" else [t]):
                    out.append((os.path.join(TD_DIR, "session.py"), a, tags))
            return out
    raise AssertionError("the TouchDesigner session.py has no SENT table")


def all_sent():
    return sc_sent() + pd_sent() + max_sent() + td_sent()


def test_what_the_clients_send_matches_the_contract():
    sent = all_sent()
    for where, address, tags in sent:
        assert address in CONTROLS, f"{where}: sends {address}, which the service does not accept"
        assert matches(CONTROLS[address], tags), \
            f"{where}: sends {address} with types {tags or '(none)'}; docs/osc.md says {CONTROLS[address]}"
    clients = {next(d for d in CLIENT_DIRS if where.startswith(d)) for where, _, _ in sent}
    assert clients == set(CLIENT_DIRS)
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
    for path in max_files():
      for patcher in max_patchers(path):
        boxes, lines = max_boxes_of(patcher)
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
    objects, _ = pd_objects(os.path.join(REPO, PD_DIR, "immersions", "immersions.pd"))
    routes = [t.split()[1:] for _, t in objects if t.startswith("route status ")]
    assert routes
    for words in routes:
        assert set(words) <= second, set(words) - second


# --- (3) Max: the package, its patchers' structure, the abstraction against its help and reference --------------

MAX_PACKAGE = os.path.join(REPO, MAX_DIR, "Immersions")
MAX_FILES = max_files()


def max_generator():
    return load_file("make_max_package", MAX_DIR, "make_max_package.py")


def test_max_package_layout():
    """A Max package: package-info.json, the abstraction in patchers/, its help in help/, its reference
    page in docs/refpages/, and nothing of it left outside the package."""
    with open(os.path.join(MAX_PACKAGE, "package-info.json")) as f:
        info = json.load(f)
    assert info["name"] == os.path.basename(MAX_PACKAGE) and info["version"] and info["max_version_min"]
    for rel in ("patchers/immersions.maxpat", "help/immersions.maxhelp", "docs/refpages/immersions.maxref.xml"):
        assert os.path.isfile(os.path.join(MAX_PACKAGE, rel)), rel
    assert all(p.startswith(MAX_PACKAGE + os.sep) for p in MAX_FILES), MAX_FILES


def test_max_package_is_what_its_generator_writes():
    gen = max_generator()
    for rel, content in gen.files().items():
        with open(os.path.join(MAX_PACKAGE, rel), "rb") as f:
            data = f.read()
        assert data == (content if isinstance(content, bytes) else content.encode("utf-8")), \
            f"{rel} is out of date: python {MAX_DIR}/make_max_package.py"
    for rel in ("README.md", "LICENSE", "examples/immersions-two-services.maxpat", "devices/Immersions.amxd"):
        assert os.path.isfile(os.path.join(MAX_PACKAGE, rel)), rel
    with open(os.path.join(MAX_PACKAGE, "LICENSE")) as f, open(os.path.join(REPO, "LICENSE")) as g:
        assert f.read() == g.read()


def read_amxd(path):
    """(device type, meta bytes, patcher dict) of an .amxd: 'ampf' <u32 4> <type> 'meta' <u32 n> <n bytes>
    'ptch' <u32 n> <JSON, newline, NUL> (the container as community readers of .amxd files document it;
    Cycling '74 publishes no specification)."""
    import struct

    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"ampf" and struct.unpack("<I", data[4:8])[0] == 4
    kind = data[8:12]
    assert data[12:16] == b"meta"
    n = struct.unpack("<I", data[16:20])[0]
    meta, rest = data[20:20 + n], data[20 + n:]
    assert rest[:4] == b"ptch"
    length = struct.unpack("<I", rest[4:8])[0]
    payload = rest[8:]
    assert len(payload) == length, "the ptch length is the rest of the file"
    assert payload.endswith(b"\n\0")
    return kind, meta, json.loads(payload[:-1].decode("utf-8"))


def test_max_for_live_device_structure(tmp_path):
    """The Max for Live audio effect, checked structurally (it has not been opened in Live here): the
    container, a patcher whose cords and ports are sound, the track's audio from [plugin~] through to
    [plugout~] on both channels with the loop of the same [immersions] abstraction mixed in, its dials
    Live parameters, and a listen port of its own."""
    kind, meta, patcher = read_amxd(os.path.join(MAX_PACKAGE, "devices", "Immersions.amxd"))
    assert kind == b"aaaa" and len(meta) == 4
    (tmp_path / "device.maxpat").write_text(json.dumps(patcher))
    test_max_patcher_structure(str(tmp_path / "device.maxpat"))  # ids, cords, inlet/outlet numbers
    boxes, lines = max_boxes_of(patcher["patcher"])
    by_text = {b.get("text", "").split(" ")[0]: b for b in boxes.values()}
    plugin, plugout, imm = by_text["plugin~"], by_text["plugout~"], by_text["immersions"]
    inlets, outlets = abstraction_ports()
    assert (imm["numinlets"], imm["numoutlets"]) == (len(inlets), len(outlets))
    listen = int(imm["text"].split("@listen")[1].split()[0])
    assert listen not in (57133, 57134)  # not the abstraction's default, not the help's
    for channel in (0, 1):  # plugin~ channel -> +~ <- loop; +~ -> plugout~ same channel
        (mix,) = [boxes[d[0]] for s, d in lines if s == [plugin["id"], channel]]
        assert mix["text"] == "+~" and ([mix["id"], 0], [plugout["id"], channel]) in [(s, d) for s, d in lines]
        fed = [boxes[s[0]] for s, d in lines if d == [mix["id"], 1]]
        assert len(fed) == 1 and any(s == [imm["id"], 0] and d == [fed[0]["id"], 0] for s, d in lines)
    dials = [b for b in boxes.values() if b["maxclass"].startswith("live.")]
    assert len(dials) == 3 and all(b["parameter_enable"] == 1 and b.get("presentation") == 1 for b in dials)
    names = [b["saved_attribute_attributes"]["valueof"]["parameter_longname"] for b in dials]
    assert len(set(names)) == 3
    assert patcher["patcher"]["openinpresentation"] == 1


def abstraction_ports():
    boxes, _ = abstraction_boxes()
    return ([b for b in boxes.values() if b["maxclass"] == "inlet"],
            [b for b in boxes.values() if b["maxclass"] == "outlet"])


@pytest.mark.parametrize("path", MAX_FILES, ids=os.path.basename)
def test_max_patcher_structure(path):
    checked = 0
    for patcher in max_patchers(path):
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
            checked += 1
    assert checked > 10


def abstraction_boxes():
    path = os.path.join(MAX_PACKAGE, "patchers", "immersions.maxpat")
    with open(path) as f:
        return max_boxes_of(json.load(f)["patcher"])


def test_max_abstraction_matches_its_help_and_reference():
    """The abstraction's inlets/outlets (each with its hover comment) are the [immersions] box's in the
    help patch and the reference page's; every message the reference documents is one the
    abstraction routes, and every control it routes is documented."""
    from xml.etree import ElementTree

    boxes, _ = abstraction_boxes()
    inlets = sorted((b for b in boxes.values() if b["maxclass"] == "inlet"), key=lambda b: b["index"])
    outlets = sorted((b for b in boxes.values() if b["maxclass"] == "outlet"), key=lambda b: b["index"])
    assert len(inlets) >= 1 and len(outlets) >= 2 and all(b.get("comment") for b in inlets + outlets)
    ref = ElementTree.parse(os.path.join(MAX_PACKAGE, "docs", "refpages", "immersions.maxref.xml")).getroot()
    assert ref.tag == "c74object" and ref.get("name") == "immersions" and ref.findtext("digest").strip()
    assert [e.findtext("digest") for e in ref.iter("inlet")] == [b["comment"] for b in inlets]
    assert [e.findtext("digest") for e in ref.iter("outlet")] == [b["comment"] for b in outlets]
    # the help uses the abstraction, with its real inlet/outlet counts
    uses = [b for p in max_patchers(os.path.join(MAX_PACKAGE, "help", "immersions.maxhelp"))
            for b in max_boxes_of(p)[0].values()
            if b["maxclass"] == "newobj" and b.get("text", "").split()[:1] == ["immersions"]]
    assert len(uses) == 1
    assert (uses[0]["numinlets"], uses[0]["numoutlets"]) == (len(inlets), len(outlets))
    # messages: documented <-> routed
    routed = set()
    for b in boxes.values():
        words = b.get("text", "").split()
        if words[:1] == ["route"]:
            routed |= set(words[1:])
    documented = {m.get("name") for m in ref.iter("method")}
    attributes = {a.get("name") for a in ref.iter("attribute")}
    assert documented <= routed, documented - routed
    names = set(max_generator().SLOTS if hasattr(max_generator(), "SLOTS") else [c[0] for c in max_generator().CONTROLS])
    assert names <= documented and names <= routed
    assert attributes <= routed  # @host etc. are also accepted as messages
    args = next(b["text"] for b in boxes.values() if b.get("text", "").startswith("patcherargs"))
    assert {w[1:] for w in args.split() if w.startswith("@")} == attributes


def test_max_help_and_patch_never_bind_the_same_port():
    """Opening the help beside a patch that uses [immersions]: the help's instance listens elsewhere,
    and nothing else in the help binds a UDP port.  The abstraction has no [udpreceive] box (which would
    bind its port as the patcher loads): it scripts one from the listen port it was given
    (tests/test_clients_max.py runs that)."""
    boxes, _ = abstraction_boxes()
    default = next(int(b["text"].split("@listen")[1].split()[0]) for b in boxes.values()
                   if b.get("text", "").startswith("patcherargs"))
    assert not [b for b in boxes.values() if b.get("text", "").startswith("udpreceive")]
    assert [b["text"] for b in boxes.values() if "udpreceive" in b.get("text", "")] == \
        ["script newdefault immersions_in 1000 100 udpreceive $1, script connect immersions_in 0 immersions_incoming 0"]
    help_boxes = [b for p in max_patchers(os.path.join(MAX_PACKAGE, "help", "immersions.maxhelp"))
                  for b in max_boxes_of(p)[0].values()]
    assert not [b for b in help_boxes if b.get("text", "").startswith(("udpreceive", "udpsend"))]
    instance = next(b["text"] for b in help_boxes if b["maxclass"] == "newobj" and b["text"].startswith("immersions"))
    assert "@listen" in instance and int(instance.split("@listen")[1].split()[0]) != default


def max_mapping(boxes, lines, first):
    """The CC -> value function of a [scale ...] (modern mode) -> [expr ...] chain starting at first."""
    import math
    steps, box = [], first
    while True:
        words = box["text"].split()
        if words[0] == "scale":
            assert "@classic" not in words, "classic-mode scale: give a modern exponent instead"
            lo_in, hi_in, lo, hi = map(float, words[1:5])
            exp = float(words[5]) if len(words) > 5 else 1.0
            assert 0.1 <= exp <= 10, f"{box['text']}: {exp} is a classic-mode base, not a modern exponent"
            steps.append(lambda x, a=lo_in, b=hi_in, c=lo, d=hi, e=exp: c + (d - c) * ((x - a) / (b - a)) ** e)
        elif words[0] == "expr":
            formula = box["text"][5:].replace("\\,", ",").replace("$f1", "x")
            steps.append(lambda x, f=formula: eval(f, {"__builtins__": {}, "pow": math.pow, "x": x}))
        else:
            break
        nxt = [boxes[d[0]] for s, d in lines if s[0] == box["id"]]
        if len(nxt) != 1:
            break
        box = nxt[0]
    return lambda x: [x := step(x) for step in steps][-1]


def test_max_cc_mappings_are_modern_and_the_learning_rate_exponential():
    """Every [scale] uses a modern-mode exponent (0.1..10); fader 3 (learning rate) is exponential over
    0.0001..0.1 like SuperCollider's \\exp spec: the middle of the fader is the geometric mean."""
    boxes, lines = abstraction_boxes()
    scales = [b for b in boxes.values() if b.get("text", "").startswith("scale ")]
    assert len(scales) >= 8
    gen = max_generator()
    for name, cc, kind, address, mapping, _ in gen.CONTROLS:
        if kind != "f":
            continue
        first = next(b for b in scales if b["text"] == mapping[0]
                     and any(d == [b["id"], 0] and boxes[s[0]]["text"].startswith("route ") for s, d in lines))
        f = max_mapping(boxes, lines, first)
        if name == "learning_rate":
            assert f(0) == pytest.approx(1e-4) and f(127) == pytest.approx(0.1)
            assert f(63.5) == pytest.approx((1e-4 * 0.1) ** 0.5, rel=0.02)
            assert f(31.75) == pytest.approx(1e-4 * 1000 ** 0.25, rel=0.02)
        low, high = CONTROL_RANGES[address]
        assert low <= f(0) <= f(127) <= high, (name, f(0), f(127))


def control_ranges():
    """{address: (low, high)} from docs/osc.md's range column (numeric single-argument controls)."""
    out = {}
    with open(os.path.join(REPO, "docs", "osc.md")) as f:
        for line in f:
            m = re.match(r"\| `(/immersions/[^`]+)` \| `[fi]` [^|]*\| \w+ ([-0-9.e]+)\.\.([-0-9.e]+) \|", line)
            if m:
                out[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return out


CONTROL_RANGES = control_ranges()


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
    for path in glob.glob(os.path.join(REPO, PD_DIR, "**", "*.pd"), recursive=True):
        canvases = pd_canvases(path)
        if os.path.basename(path) == "immersions.pd":
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
    """The Pd library folder is written by immersions_osc/clients/pd/make_pd_patch.py (run it after editing)."""
    gen = load_file("make_pd_patch", PD_DIR, "make_pd_patch.py")
    for name, text in gen.files().items():
        with open(os.path.join(REPO, PD_DIR, "immersions", name), encoding="utf-8") as f:
            assert f.read() == text, f"immersions/{name} is out of date: python {PD_DIR}/make_pd_patch.py"
    # every control of the patch is in the generator's map, with a distinct default CC
    assert len({c[1] for c in gen.CONTROLS}) == len(gen.CONTROLS)


def test_pd_library_is_laid_out_for_deken():
    """deken's layout: one folder named after the library, the abstraction, its -help.pd beside it, the
    -meta.pd (name, version, licence), a README and the licence."""
    folder = os.path.join(REPO, PD_DIR, "immersions")
    for name in ("immersions.pd", "immersions-help.pd", "immersions-meta.pd", "README.txt", "LICENSE.txt"):
        assert os.path.isfile(os.path.join(folder, name)), name
    with open(os.path.join(folder, "LICENSE.txt")) as f, open(os.path.join(REPO, "LICENSE")) as g:
        assert f.read() == g.read()
    with open(os.path.join(folder, "immersions-meta.pd")) as f:
        meta = f.read()
    assert all(re.search(rf"#X text \d+ \d+ {key}[ ;]", meta) for key in ("NAME immersions", "VERSION", "LICENSE"))
    # the help patch uses the abstraction with all three arguments, on a listen port of its own
    objects, _ = pd_objects(os.path.join(folder, "immersions-help.pd"))
    uses = [t.split() for _, t in objects if t.startswith("immersions ")]
    assert len(uses) == 1 and len(uses[0]) == 4 and int(uses[0][3]) != load_file(
        "make_pd_patch", PD_DIR, "make_pd_patch.py").LISTEN


def test_pd_abstraction_names_are_all_local():
    """Two [immersions] never collide: every send/receive/value/table/array name inside is $0-local, the
    only inlet/outlets are the abstraction's, and nothing binds a port at load (the socket connects
    only from the arguments, read by [pdcontrol])."""
    path = os.path.join(REPO, PD_DIR, "immersions", "immersions.pd")
    names = []
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"#X obj \d+ \d+ (s|r|send|receive|v|value|table|s~|r~|throw~|catch~|tabread|tabwrite"
                         r"|array max) (\S+)", text):
        names.append((m.group(1), m.group(2)))
    for m in re.finditer(r"#X array (\S+) ", text):
        names.append(("array", m.group(1)))
    skip = {"hsl": 6, "tgl": 2, "bng": 4}  # the numbers before an iemgui's send and receive names
    for m in re.finditer(r"#X obj \d+ \d+ (hsl|tgl|bng) ([^;]*)", text):
        words = m.group(2).split()
        names += [(m.group(1), n) for n in words[skip[m.group(1)]:skip[m.group(1)] + 2] if n != "empty"]
    assert len(names) > 50
    shared = [n for n in names if not n[1].lstrip("\\").startswith("$0-")]
    assert not shared, shared
    assert "netsend -u -b" in text and not re.search(r"#X msg \d+ \d+ connect \d", text)
    assert "#X obj" in text and re.search(r"#X msg \d+ \d+ args;", text) and "pdcontrol" in text


