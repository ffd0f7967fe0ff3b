// Immersions: a SuperCollider client of the Immersions OSC service (immersions-osc serve).
//
// One instance talks to one service: it subscribes (and renews, as the service forgets silent
// subscribers), sends the service's controls by name with the ranges of its controls table
// (ImmersionsControls, generated from that table), maps MIDI CCs onto them with learn mode, hands
// the activation stream and the per-layer energy to callbacks, and brings the loop the service plays
// into the server as a Bus (and the last whole loop as a Buffer).  Nothing is read from globals or
// edited in the file: every setting is an argument with a default.

Immersions {
	classvar <version = "0.1.0";

	var <host, <port, <listenPort, <server, <>myHost, <>token, <>inChannel, <>jackPort, <>renewSeconds = 5;
	var <service, <controls, <midiMap, <locals, <learning;
	var <status, <audio, <layers, <energies, <activations, <frame, <lastLoop, <acks, <errors;
	var <loopBus, <loopBuffer, <kind, <connected = false;
	var <>onActivations, <>onEnergy, <>onStatus, <>onLoop, <>onLoopBuffer, <>onAck, <>onError, <>onLearn, <>onAudio;
	var <>verbose = true;
	var oscFuncs, midiFunc, watchdog, treeFunc, quitFunc, inputSynth, recorder, recording, recordStarted, recordSeconds, finisher, finishing, previousBuffer,
	generation = 0, installed = 0, lastSubscribe = -100,
	lastStatusTime = -100, toggles, pendingId, pendingTotal, pendingValues, pendingGot, pendingCount;

	*new { |host = "127.0.0.1", port = 57130, listenPort, server, myHost = "127.0.0.1", token, inChannel = 0,
		jackPort = "immersions:out"|
		^super.new.prInit(host, port, listenPort, server, myHost, token, inChannel, jackPort)
	}

	prInit { |argHost, argPort, argListen, argServer, argMyHost, argToken, argInChannel, argJackPort|
		host = argHost;
		port = argPort.asInteger;
		// the service streams to this port; sclang's own port unless another is named (opened on connect)
		listenPort = (argListen ? NetAddr.langPort).asInteger;
		server = argServer ? Server.default;
		myHost = argMyHost;
		token = argToken;
		inChannel = argInChannel;
		jackPort = argJackPort;
		service = NetAddr(host, port);
		controls = IdentityDictionary.new;
		ImmersionsControls.rows.do { |row| var c = ImmersionsControl(*row); controls[c.name] = c };
		// the default MIDI map (a BCF2000 in preset 1): control name -> CC
		midiMap = IdentityDictionary.new;
		ImmersionsControls.midi.do { |name| midiMap[name] = controls[name].cc };
		locals = IdentityDictionary.new;
		// run and play toggle what the service does now: their state follows the status
		// (the service's default, else on: what the service does at start)
		toggles = IdentityDictionary.new;
		controls.do { |c| if(c.kind == \toggle) { toggles[c.name] = c.default ? 1 } };
		acks = IdentityDictionary.new;
		errors = List.new;
		layers = [];
		kind = \summary;
	}

	// ---- connection ---------------------------------------------------------------------------

	connect { |streams = \summary, midi = true|
		if(connected) { ^this };
		kind = streams.asSymbol;
		if(listenPort != NetAddr.langPort and: { thisProcess.openUDPPort(listenPort).not }) {
			Error("Immersions: cannot listen on UDP port %".format(listenPort)).throw
		};
		this.prMakeResponders;
		if(midi) { this.prStartMIDI };
		connected = true;
		this.subscribe;
		this.send('/immersions/layout/request');
		// renew the subscription (the service drops subscribers that stop renewing), at once when the
		// status stops (the service restarted, or started after us); ask for the layout when it returns
		watchdog = Routine {
			var wasAway = false;
			loop {
				var now = Main.elapsedTime, away = now - lastStatusTime > 3;
				if(now - lastSubscribe >= renewSeconds or: { away and: { now - lastSubscribe >= 2 } }) {
					this.subscribe
				};
				if(away.not and: wasAway) { this.send('/immersions/layout/request') };
				wasAway = away;
				1.wait;
			}
		}.play(SystemClock);
		// the loop comes in when the server runs: now, after a later boot, and again after Cmd-.
		treeFunc = { this.prStartAudio };
		ServerTree.add(treeFunc, server);
		// a server that quit took the bus, the synths and the buffers with it (a new boot allocates anew)
		quitFunc = { recorder = finisher = inputSynth = loopBus = loopBuffer = recording = finishing = previousBuffer = nil };
		ServerQuit.add(quitFunc, server);
		if(server.serverRunning) { this.prStartAudio } {
			// Linux: scsynth connects its first JACK inputs to this port when it boots
			if(thisProcess.platform.name == \linux and: { "SC_JACK_DEFAULT_INPUTS".getenv.isNil }) {
				"SC_JACK_DEFAULT_INPUTS".setenv(jackPort)
			}
		};
		^this
	}

	subscribe { |streams|
		streams !? { kind = streams.asSymbol };
		// a service on another machine (--allow-remote) wants its token before anything else
		token !? { service.sendMsg('/immersions/auth', token.asString) };
		service.sendMsg('/immersions/stream/subscribe', myHost.asString, listenPort, kind.asString);
		lastSubscribe = Main.elapsedTime;
	}

	unsubscribe {
		service.sendMsg('/immersions/stream/unsubscribe', myHost.asString, listenPort);
	}

	free {
		if(connected) { this.unsubscribe };
		connected = false;
		watchdog !? { watchdog.stop };
		oscFuncs.do(_.free);
		oscFuncs = nil;
		midiFunc !? { midiFunc.free };
		midiFunc = nil;
		treeFunc !? { ServerTree.remove(treeFunc, server) };
		quitFunc !? { ServerQuit.remove(quitFunc, server) };
		if(server.serverRunning) {
			[recorder, finisher, inputSynth].do { |n| n !? { n.free } };
			[loopBus, loopBuffer, recording, finishing, previousBuffer].do { |b| b !? { b.free } };
		};
		recorder = finisher = inputSynth = loopBus = loopBuffer = recording = finishing = previousBuffer = nil;
	}

	// ---- controls -------------------------------------------------------------------------------

	// a control of the table by name: \volume, \learning_rate, \play, \random, \noise ...
	set { |name, value|
		var c = controls[name.asSymbol], msg;
		if(c.isNil) {
			"Immersions: no control called '%' (Immersions.controlNames lists them)".format(name).warn;
			^nil
		};
		msg = this.prMessage(c, value);
		msg !? {
			service.sendMsg(*msg);
			if(c.kind == \toggle) { toggles[c.name] = msg[1] };
		};
		^msg
	}

	// a fader's position 0..1 on the control's span and curve
	setNormalized { |name, x|
		var c = controls[name.asSymbol];
		if(c.isNil or: { c.spec.isNil }) {
			"Immersions: '%' has no fader".format(name).warn;
			^nil
		};
		^this.set(c.name, c.spec.map(x.clip(0, 1)))
	}

	// any message, as is (the service answers /immersions/error when it refuses it)
	send { |address ... args|
		service.sendMsg(address, *args);
		^[address] ++ args
	}

	targetLayer { |layer, weight = 1|
		^this.send('/immersions/target/layer', layer.asString, weight.asFloat)
	}

	targetChannel { |layer, channel, weight = 1|
		^this.send('/immersions/target/channel', layer.asString, channel.asInteger, weight.asFloat)
	}

	requestStatus { ^this.send('/immersions/status/request') }

	controlNames { ^controls.keys.asArray.sort }

	*controlNames { ^ImmersionsControls.rows.collect(_.first).sort }

	prMessage { |c, value|
		var ok;
		^switch(c.kind)
		{ \trigger } { [c.address] ++ (c.argument !? { [c.argument] } ? []) }
		{ \text } {
			ok = value.notNil and: { c.choices.isNil or: { c.choices.includes(value.asSymbol) } };
			if(ok) { [c.address, value.asString] } {
				"Immersions: % wants one of % (got %)".format(c.name, c.choices ? "a string", value).warn; nil
			}
		}
		{
			// numbers: the service refuses values outside its range; say so here, naming the range
			ok = value.isNumber and: { value.inclusivelyBetween(c.lo, c.hi) or: { value == c.off } }
			and: { c.type != "i" or: { value.frac == 0 } };
			if(ok) { [c.address, if(c.type == "i") { value.asInteger } { value.asFloat }] } {
				"Immersions: % takes %..% (got %)".format(c.name, c.lo, c.hi, value).warn; nil
			}
		}
	}

	// ---- MIDI -----------------------------------------------------------------------------------

	// a control of the sclang side on a CC: action.(value mapped by spec), or on a press for a button
	addLocal { |name, cc, spec, action, button = false|
		locals[name.asSymbol] = [spec !? { spec.asSpec }, action, button];
		this.mapCC(name, cc);
	}

	// learn mode: the next CC moved takes over the control (that move only learns)
	learn { |name|
		if(this.prKnown(name).not) {
			"Immersions: no control called '%' (printMap lists them)".format(name).warn;
			^nil
		};
		learning = name.asSymbol;
		if(verbose) { "Immersions: move the control for '%' now".format(name).postln };
	}

	// one control per CC: the CC's old control and the control's old CC are freed
	mapCC { |name, cc|
		if(this.prKnown(name).not) {
			"Immersions: no control called '%'".format(name).warn;
			^nil
		};
		cc !? { midiMap.keys.select { |n| midiMap[n] == cc }.do { |n| midiMap.removeAt(n) } };
		midiMap[name.asSymbol] = cc;
	}

	ccFor { |name| ^midiMap[name.asSymbol] }

	// what a CC does (the MIDIFunc calls it; call it yourself without a controller).  Returns the OSC
	// message sent, or nil
	handleCC { |cc, value, chan = 0|
		var name, c, l, msg;
		if(learning.notNil) {
			name = learning;
			learning = nil;
			this.mapCC(name, cc);
			if(verbose) { "Immersions: CC % now controls '%'".format(cc, name).postln };
			onLearn.value(name, cc, this);
			^nil
		};
		name = midiMap.findKeyForValue(cc);
		if(name.isNil) { ^nil };
		l = locals[name];
		if(l.notNil) {
			// l: [spec, action, button]
			if(l[2]) { if(value > 0) { l[1].value(this) } } { l[1].value(l[0].map(value / 127), this) };
			^nil
		};
		c = controls[name];
		^switch(c.kind)
		{ \fader } {
			msg = c.spec.map(value / 127);
			this.set(name, if(c.type == "i") { msg.round.asInteger } { msg })
		}
		{ \toggle } { if(value > 0) { this.set(name, 1 - (toggles[name] ? 0)) } }
		{ \trigger } { if(value > 0) { this.set(name) } }
		{ nil }
	}

	printMap {
		midiMap.keys.asArray.sort { |a, b| (midiMap[a] ? 999) < (midiMap[b] ? 999) }.do { |name|
			var c = controls[name];
			"CC %  %  %".format(midiMap[name].asString.padLeft(4), name.asString.padRight(24),
				c !? { c.address } ?? { "local" }).postln
		}
	}

	prKnown { |name| ^controls[name.asSymbol].notNil or: { locals[name.asSymbol].notNil } }

	prStartMIDI {
		// no controller (or no MIDI at all) is fine: handleCC still works from code
		try {
			if(MIDIClient.initialized.not) { MIDIClient.init };
			MIDIIn.connectAll;
		} { |err| "Immersions: no MIDI (%)".format(err.errorString).warn };
		midiFunc = MIDIFunc.cc({ |value, cc, chan| this.handleCC(cc, value, chan) });
	}

	// ---- what the service sends -----------------------------------------------------------------

	layerNames { ^layers.select(_.notNil).collect { |l| l.name } }

	// the layer a row of eight buttons stands for, spread from shallow (0) to deep (7)
	layerForSlot { |k, slots = 8|
		var names = this.layerNames;
		^if(names.isEmpty) { nil } { names[(k * (names.size - 1) / (slots - 1)).round.asInteger] }
	}

	prMakeResponders {
		var on = { |path, func| OSCFunc(func, path, service, listenPort) };
		oscFuncs = [
			on.('/immersions/status', { |msg|
				var keys = #[fps, stepsPerSecond, xruns, target, loops, playing, volume, subscribers, secondsUp];
				var st = ();
				keys.do { |k, i| st[k] = msg[i + 1] };
				if(verbose and: { status.isNil or: { status.target != st.target } }) {
					"Immersions: target %".format(st.target).postln
				};
				status = st;
				lastStatusTime = Main.elapsedTime;
				toggles[\play] = st.playing.asInteger;
				toggles[\run] = (st.stepsPerSecond > 0).asInteger;
				onStatus.value(st, this);
			}),
			on.('/immersions/audio', { |msg|
				audio = (backend: msg[1], modelRate: msg[2], deviceRate: msg[3], xruns: msg[4], latencyMs: msg[5]);
			}),
			on.('/immersions/loop/new', { |msg|
				lastLoop = (version: msg[1], step: msg[2], seconds: msg[3], target: msg[4]);
				onLoop.value(lastLoop, this);
				if(inputSynth.notNil) { this.recordLoop(msg[3]) };
			}),
			on.('/immersions/summary/energy', { |msg|
				energies = msg[1..];
				onEnergy.value(energies, this);
			}),
			on.('/immersions/layout/layer', { |msg|
				if(msg[1] >= layers.size) { layers = layers.extend(msg[1] + 1) };
				layers[msg[1]] = (name: msg[2].asString, offset: msg[3], channels: msg[4], frequencies: msg[5]);
			}),
			on.('/immersions/activations', { |msg| this.prChunk(msg) }),
			on.('/immersions/ack', { |msg|
				var a = msg[1].asSymbol;
				acks[a] = (acks[a] ? 0) + 1;
				onAck.value(a, this);
			}),
			on.('/immersions/error', { |msg|
				errors.add([msg[1], msg[2]]);
				if(verbose) { "Immersions: the service refused %: %".format(msg[1], msg[2]).warn };
				onError.value(msg[1], msg[2], this);
			})
		];
	}

	// /immersions/activations frame chunk count offset total format scale bias payload: the chunks of
	// a frame are put together; a whole frame goes to onActivations, one that lost a chunk is dropped
	prChunk { |msg|
		var id = msg[1], chunk = msg[2], count = msg[3], offset = msg[4], total = msg[5], values;
		if(pendingId.isNil or: { id > pendingId } or: { id < (pendingId - 64) } or: { pendingTotal != total }) {
			// a newer frame (or a restarted service, whose frame ids start again): the older one is dropped
			pendingId = id;
			pendingTotal = total;
			pendingCount = count;
			pendingValues = FloatArray.newClear(total);
			pendingGot = Set.new;
		};
		if(id != pendingId or: { pendingGot.includes(chunk) }) { ^nil };
		values = this.class.decode(msg[9], msg[6], msg[7], msg[8]);
		if(values.isNil or: { offset + values.size > total }) { ^nil };
		pendingValues.overWrite(values, offset);
		pendingGot.add(chunk);
		if(pendingGot.size == pendingCount) {
			activations = pendingValues;
			frame = pendingId;
			pendingGot = Set.new;  // complete: later chunks of this frame are ignored
			pendingCount = inf;
			onActivations.value(activations, frame, this);
		}
	}

	// a chunk's payload (an Int8Array, little-endian for float16/float32) as values: bias + scale * stored
	*decode { |blob, format, scale = 1, bias = 0|
		var n;
		^switch(format.asSymbol)
		{ \uint8 } { FloatArray.fill(blob.size, { |i| bias + (scale * (blob[i] & 255)) }) }
		{ \float16 } {
			n = blob.size div: 2;
			FloatArray.fill(n, { |i|
				var h = (blob[2 * i] & 255) | ((blob[2 * i + 1] & 255) << 8);
				var e = (h >> 10) & 31, m = h & 1023, x;
				x = case
				{ e == 0 } { m * (2 ** -24) }
				{ e == 31 } { if(m == 0) { inf } { 0.0 / 0.0 } }
				{ (1 + (m / 1024)) * (2 ** (e - 15)) };
				bias + (scale * if(h & 32768 != 0) { x.neg } { x })
			})
		}
		{ \float32 } {
			n = blob.size div: 4;
			FloatArray.fill(n, { |i|
				var w = (blob[4 * i] & 255) | ((blob[4 * i + 1] & 255) << 8) | ((blob[4 * i + 2] & 255) << 16)
				| (blob[4 * i + 3] << 24);
				bias + (scale * Float.from32Bits(w))
			})
		}
		{ nil }
	}

	// ---- sound ----------------------------------------------------------------------------------

	prStartAudio {
		fork {
			loopBus = loopBus ?? { Bus.audio(server, 1) };
			SynthDef(\immersionsIn, { |out, in = 0|
				Out.ar(out, SoundIn.ar(in))
			}).add;
			SynthDef(\immersionsRecord, { |in, buf|
				RecordBuf.ar(In.ar(in), buf, loop: 0, doneAction: Done.freeSelf)
			}).add;
			server.sync;
			// at the head of the tree: any synth in the default group reads the loop in the same block
			inputSynth = Synth(\immersionsIn, [out: loopBus, in: inChannel], RootNode(server), \addToHead);
			this.connectJack;
			// synths that read loopBus go here: after a boot and after Cmd-. (which freed them)
			onAudio.value(loopBus, this);
		}
	}

	// Linux: connect the service's JACK output to this server's input (when the server was booted
	// before the service, or without SC_JACK_DEFAULT_INPUTS)
	connectJack {
		if(thisProcess.platform.name == \linux) {
			"jack_connect % SuperCollider:in_% 2>/dev/null".format(jackPort, inChannel + 1).unixCmd(postOutput: false)
		}
	}

	// record `seconds` of the loop bus into a fresh buffer; when it is full it becomes loopBuffer and
	// onLoopBuffer is called.  Started on every /immersions/loop/new, so loopBuffer holds the newest
	// whole cycle recorded, rotated by the time the message and the audio took to arrive.  When a new
	// loop plays at every boundary, the next loop/new comes about as the recording ends (before it, by
	// the time the buffer took to allocate): a recording that far along is left to finish beside the
	// new one, or none would ever be whole.  The buffer it replaces is freed only when the next one
	// comes: synths still playing it have a whole loop's time to move to the new one
	recordLoop { |seconds|
		var frames = (seconds * server.sampleRate).round.asInteger, buf, node, mine, started;
		if(inputSynth.isNil or: { frames < 1 }) { ^nil };
		recorder !? { |old|
			var oldBuf = recording;
			recorder = recording = nil;
			if(finisher.isNil and: { recordStarted.notNil } and: { Main.elapsedTime - recordStarted >= (recordSeconds * 0.8) }) {
				finisher = old; finishing = oldBuf  // nearly a whole cycle of the loop before: let it end
			} {
				old.free; oldBuf !? { oldBuf.free }  // a part of a loop is not kept
			}
		};
		// the newest call wins: one that is overtaken while its buffer is allocated records nothing
		generation = generation + 1;
		mine = generation;
		fork {
			buf = Buffer.alloc(server, frames, 1);
			server.sync;
			if(connected and: { mine == generation } and: { inputSynth.notNil }) {
				recording = buf;
				node = Synth.after(inputSynth, \immersionsRecord, [in: loopBus, buf: buf]);
				recorder = node;
				started = recordStarted = Main.elapsedTime;
				recordSeconds = seconds;
				node.onFree {
					var whole;
					// a recorder freed by a newer loop (or by free) has been dealt with there
					if(recorder === node or: { finisher === node }) {
						if(recorder === node) { recorder = recording = nil } { finisher = finishing = nil };
						// it ran to its end (the server's clock may run faster than this one: JACK's dummy driver by
						// 1-2 % beside other work, and a busy sclang stamps the start late),
						// or it was cut short (Cmd-.): a part of a loop is not kept; nor is one that ends
						// after a newer recording was kept
						whole = (Main.elapsedTime - started >= (seconds * 0.9)) and: { mine > installed };
						if(whole) {
							installed = mine;
							previousBuffer !? { |b| b.free };
							previousBuffer = loopBuffer;
							loopBuffer = buf;
							onLoopBuffer.value(buf, this);
						} { buf.free };
					}
				};
			} { buf.free };
		};
	}
}

// One row of the service's controls table (ImmersionsControls), with the ControlSpec a fader or a
// MIDI CC plays it through and what kind of control it is for a controller.
ImmersionsControl {
	var <name, <label, <address, <type, <lo, <hi, <off, <choices, <warp, <faderLo, <faderHi, <cc, <default,
	<argument, <spec, <kind;

	*new { |name, label, address, type, lo, hi, off, choices, warp, faderLo, faderHi, cc, default, argument|
		^super.newCopyArgs(name, label, address, type, lo, hi, off, choices, warp, faderLo, faderHi, cc, default,
			argument).prInit
	}

	prInit {
		// the span a fader covers, with the table's curve: what a CC's 0..127 plays
		faderLo !? { spec = ControlSpec(faderLo, faderHi, warp) };
		kind = case
		{ type == "i" and: { lo == 0 } and: { hi == 1 } } { \toggle }
		{ type == "f" or: { type == "i" } } { \fader }
		{ type == "" or: { argument.notNil } } { \trigger }
		{ \text };
	}

	printOn { |stream| stream << "ImmersionsControl(" <<< name << ", " <<< address << ")" }
}
