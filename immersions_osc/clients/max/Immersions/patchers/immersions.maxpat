{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 0,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [
			60.0,
			80.0,
			1500.0,
			960.0
		],
		"openinpresentation": 0,
		"default_fontsize": 12.0,
		"gridsize": [
			15.0,
			15.0
		],
		"description": "Immersions: play the service from Max",
		"digest": "Talk to the Immersions service",
		"tags": "immersions osc midi",
		"boxes": [
			{
				"box": {
					"maxclass": "comment",
					"text": "[immersions] -- the Immersions service from Max. Open its help (alt-click) for how to use it. Left inlet: messages; right inlet: CC pairs. Outlets: the loop (signal), status, per-layer energy, events.",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						15,
						10,
						900,
						40
					],
					"id": "obj-1"
				}
			},
			{
				"box": {
					"maxclass": "inlet",
					"comment": "messages: controls by name (volume 0.8, play 1, learn volume, ...), settings, raw /immersions/... OSC",
					"index": 1,
					"patching_rect": [
						15,
						60,
						30,
						30
					],
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-2"
				}
			},
			{
				"box": {
					"maxclass": "inlet",
					"comment": "MIDI CC pairs: cc-number value (the object also listens to every [ctlin] unless 'midi 0')",
					"index": 2,
					"patching_rect": [
						700,
						60,
						30,
						30
					],
					"numinlets": 0,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"id": "obj-3"
				}
			},
			{
				"box": {
					"maxclass": "outlet",
					"comment": "signal: the loop, from audio input 1 (see the audio tab: JACK, BlackHole, VB-Cable)",
					"index": 1,
					"patching_rect": [
						15,
						900,
						30,
						30
					],
					"numinlets": 1,
					"numoutlets": 0,
					"id": "obj-4"
				}
			},
			{
				"box": {
					"maxclass": "outlet",
					"comment": "status: fps, steps, xruns, target, loops, playing, volume, subscribers, seconds, running, connected",
					"index": 2,
					"patching_rect": [
						300,
						900,
						30,
						30
					],
					"numinlets": 1,
					"numoutlets": 0,
					"id": "obj-5"
				}
			},
			{
				"box": {
					"maxclass": "outlet",
					"comment": "per-layer energy (a list, shallow to deep) for a multislider",
					"index": 3,
					"patching_rect": [
						600,
						900,
						30,
						30
					],
					"numinlets": 1,
					"numoutlets": 0,
					"id": "obj-6"
				}
			},
			{
				"box": {
					"maxclass": "outlet",
					"comment": "events: ack <address>, error <address> <why>, loop <version> <step> <seconds> <target>, learned <cc> <name>",
					"index": 4,
					"patching_rect": [
						900,
						900,
						30,
						30
					],
					"numinlets": 1,
					"numoutlets": 0,
					"id": "obj-7"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "patcherargs @host 127.0.0.1 @port 57130 @listen 57133 @myhost 127.0.0.1 @token none",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						160,
						100,
						591,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-8"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "loadbang",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						160,
						60,
						66,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-9"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b b b",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						160,
						80,
						59,
						22
					],
					"outlettype": [
						"bang",
						"bang",
						"bang"
					],
					"id": "obj-10"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route host port listen myhost token",
					"numinlets": 1,
					"numoutlets": 6,
					"patching_rect": [
						160,
						140,
						255,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-11"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "udpsend 127.0.0.1 57130",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						15,
						820,
						171,
						22
					],
					"id": "obj-12"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "thispatcher",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						1000,
						60,
						87,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-13"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend host",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						160,
						170,
						94,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-14"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend port",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						260,
						170,
						94,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-15"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t i i",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						360,
						170,
						45,
						22
					],
					"outlettype": [
						"int",
						"int"
					],
					"id": "obj-16"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b i",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						1000,
						10,
						45,
						22
					],
					"outlettype": [
						"bang",
						"int"
					],
					"id": "obj-17"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "gate 2 1",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1000,
						35,
						66,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-18"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "2",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1100,
						10,
						30,
						22
					],
					"id": "obj-19"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "script newdefault immersions_in 1000 100 udpreceive $1, script connect immersions_in 0 immersions_incoming 0",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1000,
						60,
						420,
						22
					],
					"id": "obj-20"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "script send immersions_in port $1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1250,
						60,
						241,
						22
					],
					"id": "obj-21"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "pak sym 57133",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						460,
						200,
						101,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-22"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "tosymbol",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						460,
						170,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-23"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "zl reg",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						460,
						230,
						52,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-24"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"text": "subscribe on load and every 5 s (renewal: the service forgets silent subscribers)",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						560,
						230,
						330,
						40
					],
					"id": "obj-25"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "metro 5000",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						460,
						260,
						80,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-26"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						460,
						60,
						30,
						22
					],
					"id": "obj-27"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b b",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						380,
						275,
						45,
						22
					],
					"outlettype": [
						"bang",
						"bang"
					],
					"id": "obj-28"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "gate 1 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						620,
						290,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-29"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "zl reg",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						620,
						320,
						52,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-30"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/auth $1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						620,
						350,
						143,
						22
					],
					"id": "obj-31"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel none",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						560,
						170,
						66,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-32"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "tosymbol",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						560,
						200,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-33"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700,
						230,
						30,
						22
					],
					"id": "obj-34"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						700,
						200,
						40,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-35"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/stream/subscribe $1 $2 summary",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						460,
						290,
						304,
						22
					],
					"id": "obj-36"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "closebang",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						800,
						260,
						73,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-37"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "zl reg",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						800,
						290,
						52,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-38"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/stream/unsubscribe $1 $2",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						800,
						320,
						262,
						22
					],
					"id": "obj-39"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route learn map subscribe midi input cc",
					"numinlets": 1,
					"numoutlets": 7,
					"patching_rect": [
						15,
						360,
						283,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-40"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route volume weight learning_rate energy_penalty sparsity_penalty high_frequency_penalty mix_original denoise top_channel pitch_shift time_shift mask gradient_noise run play random noise silence previous normalize_gradient status layer",
					"numinlets": 1,
					"numoutlets": 23,
					"patching_rect": [
						15,
						400,
						1655,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-41"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "tosymbol",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						440,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-42"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/target/layer",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						470,
						234,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-43"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "ctlin",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						700,
						100,
						45,
						22
					],
					"outlettype": [
						"int",
						"int",
						"int"
					],
					"id": "obj-44"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "pack 0 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						700,
						130,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-45"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "$2 $1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						700,
						160,
						45,
						22
					],
					"id": "obj-46"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "gate 1 1",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						700,
						190,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-47"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "gate 2 1",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						700,
						230,
						66,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-48"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "unpack 0 0",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						700,
						270,
						80,
						22
					],
					"outlettype": [
						"int",
						"int"
					],
					"id": "obj-49"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_ccmap",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						700,
						300,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-50"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "append",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						700,
						330,
						52,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-51"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route volume weight learning_rate energy_penalty sparsity_penalty high_frequency_penalty mix_original denoise top_channel pitch_shift time_shift mask gradient_noise run play random noise silence previous normalize_gradient status",
					"numinlets": 1,
					"numoutlets": 22,
					"patching_rect": [
						700,
						360,
						1613,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-52"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "routepass volume weight learning_rate energy_penalty sparsity_penalty high_frequency_penalty mix_original denoise top_channel pitch_shift time_shift mask gradient_noise run play random noise silence previous normalize_gradient status",
					"numinlets": 1,
					"numoutlets": 22,
					"patching_rect": [
						1000,
						370,
						1641,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						"",
						""
					],
					"id": "obj-53"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t s s s b",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						1000,
						400,
						73,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-54"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend learn: no control called",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1300,
						560,
						234,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-55"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1300,
						590,
						122,
						22
					],
					"id": "obj-56"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "2",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1000,
						430,
						30,
						22
					],
					"id": "obj-57"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_names",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						1060,
						460,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-58"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_ccmap",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						1060,
						520,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-59"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend remove",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1060,
						490,
						108,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-60"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "pack 0 s",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1120,
						560,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-61"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend learn: move a MIDI control for",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1000,
						560,
						276,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-62"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1000,
						590,
						122,
						22
					],
					"id": "obj-63"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "unpack 0 0",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						860,
						430,
						80,
						22
					],
					"outlettype": [
						"int",
						"int"
					],
					"id": "obj-64"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b i i",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						860,
						460,
						59,
						22
					],
					"outlettype": [
						"bang",
						"int",
						"int"
					],
					"id": "obj-65"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_ccmap",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						920,
						490,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-66"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_names",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						920,
						550,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-67"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend remove",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						920,
						520,
						108,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-68"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t l l l",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						1120,
						590,
						59,
						22
					],
					"outlettype": [
						"",
						"",
						""
					],
					"id": "obj-69"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "store $2 $1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1120,
						620,
						87,
						22
					],
					"id": "obj-70"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend learned",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						620,
						115,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-71"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "CC $1 now controls $2",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1250,
						650,
						157,
						22
					],
					"id": "obj-72"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1250,
						680,
						122,
						22
					],
					"id": "obj-73"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						860,
						490,
						30,
						22
					],
					"id": "obj-74"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "clear, 81 volume, 82 weight, 83 learning_rate, 84 energy_penalty, 85 sparsity_penalty, 86 high_frequency_penalty, 87 mix_original, 88 denoise, 89 top_channel, 1 pitch_shift, 2 time_shift, 3 mask, 4 gradient_noise, 65 run, 66 play, 67 random, 68 noise, 69 silence, 70 previous, 71 normalize_gradient, 72 status",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						15,
						760,
						600,
						22
					],
					"id": "obj-75"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "clear, store volume 81, store weight 82, store learning_rate 83, store energy_penalty 84, store sparsity_penalty 85, store high_frequency_penalty 86, store mix_original 87, store denoise 88, store top_channel 89, store pitch_shift 1, store time_shift 2, store mask 3, store gradient_noise 4, store run 65, store play 66, store random 67, store noise 68, store silence 69, store previous 70, store normalize_gradient 71, store status 72",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						15,
						790,
						600,
						22
					],
					"id": "obj-76"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "dump",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1300,
						400,
						38,
						22
					],
					"id": "obj-77"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "coll #0_ccmap",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [
						1300,
						430,
						101,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"bang"
					],
					"id": "obj-78"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1300,
						460,
						59,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-79"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend CC",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1300,
						490,
						80,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-80"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions-map",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1300,
						520,
						150,
						22
					],
					"id": "obj-81"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						15,
						600,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-82"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 1.5 2.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						15,
						510,
						157,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-83"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/player/volume",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						15,
						630,
						241,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-84"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						77,
						630,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-85"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 -5. 5.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						77,
						540,
						136,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-86"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/target/weight",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						77,
						660,
						241,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-87"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						139,
						660,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-88"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 -4. -1.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						139,
						570,
						143,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-89"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr pow(10.\\, $f1)",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						139,
						600,
						143,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-90"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/learning_rate",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						139,
						690,
						304,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-91"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						201,
						600,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-92"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						201,
						510,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-93"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 10.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						201,
						540,
						451,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-94"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/energy_penalty",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						201,
						630,
						311,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-95"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						263,
						630,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-96"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						263,
						540,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-97"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 10.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						263,
						570,
						451,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-98"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/sparsity_penalty",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						263,
						660,
						325,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-99"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						325,
						660,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-100"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						325,
						570,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-101"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 10.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						325,
						600,
						451,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-102"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/high_frequency_penalty",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						325,
						690,
						367,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-103"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						387,
						600,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-104"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 1.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						387,
						510,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-105"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/mix_original",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						387,
						630,
						297,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-106"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						449,
						630,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-107"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						449,
						540,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-108"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 5.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						449,
						570,
						444,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-109"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/denoise",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						449,
						660,
						262,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-110"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						511,
						660,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-111"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						511,
						570,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-112"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 10.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						511,
						600,
						451,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-113"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/top_channel",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						511,
						690,
						290,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-114"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						573,
						600,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-115"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 12.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						573,
						510,
						136,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-116"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/pitch_shift",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						573,
						630,
						290,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-117"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						635,
						630,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-118"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 1.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						635,
						540,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-119"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/time_shift",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						635,
						660,
						283,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-120"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						697,
						660,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-121"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 1.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						697,
						570,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-122"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/mask",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						697,
						690,
						241,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-123"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "f",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						759,
						600,
						40,
						22
					],
					"outlettype": [
						"float"
					],
					"id": "obj-124"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "scale 0 127 0. 4.",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [
						759,
						510,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-125"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "expr 10.*(1.-pow(2.718281828\\, $f1))/(1.-pow(2.718281828\\, 4.))",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						759,
						540,
						451,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-126"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/gradient_noise",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						759,
						630,
						311,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-127"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						821,
						630,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-128"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						851,
						570,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-129"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						821,
						540,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-130"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						821,
						570,
						40,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-131"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "== 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						821,
						600,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-132"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/run",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						821,
						660,
						234,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-133"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						883,
						660,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-134"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						913,
						600,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-135"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						883,
						570,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-136"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						883,
						600,
						40,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-137"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "== 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						883,
						630,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-138"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/player/play",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						883,
						690,
						227,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-139"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						945,
						510,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-140"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/target/random",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						945,
						600,
						185,
						22
					],
					"id": "obj-141"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1007,
						540,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-142"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/optimize/start noise",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1007,
						630,
						234,
						22
					],
					"id": "obj-143"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1069,
						570,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-144"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/optimize/start silence",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1069,
						660,
						248,
						22
					],
					"id": "obj-145"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1131,
						510,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-146"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/optimize/start previous",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1131,
						600,
						255,
						22
					],
					"id": "obj-147"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1193,
						630,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-148"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "i",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1223,
						570,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-149"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1193,
						540,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-150"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1193,
						570,
						40,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-151"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "== 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1193,
						600,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-152"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend /immersions/optimize/normalize_gradient",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1193,
						660,
						339,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-153"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "sel 0",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1255,
						570,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-154"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/status/request",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1255,
						660,
						192,
						22
					],
					"id": "obj-155"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "notein",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [
						1250,
						700,
						52,
						22
					],
					"outlettype": [
						"int",
						"int",
						"int"
					],
					"id": "obj-156"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "stripnote",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1250,
						730,
						73,
						22
					],
					"outlettype": [
						"int",
						"int"
					],
					"id": "obj-157"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "- 36",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						760,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-158"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "clip 0 63",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						790,
						73,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-159"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "gate 1 0",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						790,
						66,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-160"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "pack 0 sym",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						820,
						80,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-161"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "/immersions/target/channel $2 $1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1250,
						850,
						234,
						22
					],
					"id": "obj-162"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b s",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [
						1400,
						730,
						45,
						22
					],
					"outlettype": [
						"bang",
						""
					],
					"id": "obj-163"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1400,
						760,
						30,
						22
					],
					"id": "obj-164"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "fromsymbol",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1400,
						670,
						80,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-165"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "zl slice 1",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1400,
						700,
						80,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-166"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "route /immersions/status /immersions/summary/energy /immersions/loop/new /immersions/ack /immersions/error",
					"numinlets": 1,
					"numoutlets": 6,
					"patching_rect": [
						1000,
						130,
						752,
						22
					],
					"outlettype": [
						"",
						"",
						"",
						"",
						"",
						""
					],
					"varname": "immersions_incoming",
					"id": "obj-167"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "t b",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						160,
						40,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-168"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "unpack 0. 0. 0 s 0 0 0. 0 0.",
					"numinlets": 1,
					"numoutlets": 9,
					"patching_rect": [
						1000,
						190,
						206,
						22
					],
					"outlettype": [
						"float",
						"float",
						"int",
						"",
						"int",
						"int",
						"float",
						"int",
						"float"
					],
					"id": "obj-169"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend fps",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1000,
						220,
						87,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-170"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend steps",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1055,
						220,
						101,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-171"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend xruns",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1110,
						220,
						101,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-172"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend target",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1165,
						220,
						108,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-173"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend loops",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1220,
						220,
						101,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-174"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend playing",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1275,
						220,
						115,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-175"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend volume",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1330,
						220,
						108,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-176"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend subscribers",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1385,
						220,
						143,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-177"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend seconds",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1440,
						220,
						115,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-178"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "> 0.",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1100,
						250,
						40,
						22
					],
					"outlettype": [
						"int"
					],
					"id": "obj-179"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend running",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1100,
						280,
						115,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-180"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1250,
						190,
						30,
						22
					],
					"id": "obj-181"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "delay 3000",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1300,
						190,
						80,
						22
					],
					"outlettype": [
						"bang"
					],
					"id": "obj-182"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "0",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						1300,
						220,
						30,
						22
					],
					"id": "obj-183"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "zl change",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [
						1250,
						250,
						73,
						22
					],
					"outlettype": [
						"",
						""
					],
					"id": "obj-184"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend connected",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1250,
						280,
						129,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-185"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend loop",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1000,
						320,
						94,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-186"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend ack",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1100,
						320,
						87,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-187"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend error",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						1200,
						320,
						101,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-188"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions-error",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						1200,
						350,
						164,
						22
					],
					"id": "obj-189"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "adc~ 1",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [
						15,
						860,
						52,
						22
					],
					"outlettype": [
						"signal"
					],
					"id": "obj-190"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "prepend set",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						15,
						830,
						87,
						22
					],
					"outlettype": [
						""
					],
					"id": "obj-191"
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"source": [
						"obj-9",
						0
					],
					"destination": [
						"obj-10",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-10",
						2
					],
					"destination": [
						"obj-8",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-8",
						1
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						0
					],
					"destination": [
						"obj-14",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-14",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						1
					],
					"destination": [
						"obj-15",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-15",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						2
					],
					"destination": [
						"obj-16",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-16",
						1
					],
					"destination": [
						"obj-17",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						1
					],
					"destination": [
						"obj-18",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-17",
						0
					],
					"destination": [
						"obj-19",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-19",
						0
					],
					"destination": [
						"obj-18",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						0
					],
					"destination": [
						"obj-20",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-18",
						1
					],
					"destination": [
						"obj-21",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-20",
						0
					],
					"destination": [
						"obj-13",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-21",
						0
					],
					"destination": [
						"obj-13",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						3
					],
					"destination": [
						"obj-23",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-23",
						0
					],
					"destination": [
						"obj-22",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-16",
						0
					],
					"destination": [
						"obj-22",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-24",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-10",
						0
					],
					"destination": [
						"obj-27",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-27",
						0
					],
					"destination": [
						"obj-26",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-26",
						0
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						0
					],
					"destination": [
						"obj-24",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-28",
						1
					],
					"destination": [
						"obj-29",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-29",
						0
					],
					"destination": [
						"obj-30",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-30",
						0
					],
					"destination": [
						"obj-31",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-31",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						4
					],
					"destination": [
						"obj-32",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-32",
						1
					],
					"destination": [
						"obj-33",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-33",
						0
					],
					"destination": [
						"obj-30",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-33",
						0
					],
					"destination": [
						"obj-35",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-35",
						0
					],
					"destination": [
						"obj-34",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-34",
						0
					],
					"destination": [
						"obj-29",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-24",
						0
					],
					"destination": [
						"obj-36",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-36",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-22",
						0
					],
					"destination": [
						"obj-38",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-37",
						0
					],
					"destination": [
						"obj-38",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-38",
						0
					],
					"destination": [
						"obj-39",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-39",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-2",
						0
					],
					"destination": [
						"obj-40",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						2
					],
					"destination": [
						"obj-28",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						6
					],
					"destination": [
						"obj-11",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-11",
						5
					],
					"destination": [
						"obj-41",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						22
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						21
					],
					"destination": [
						"obj-42",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-42",
						0
					],
					"destination": [
						"obj-43",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-43",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-44",
						0
					],
					"destination": [
						"obj-45",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-44",
						1
					],
					"destination": [
						"obj-45",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-45",
						0
					],
					"destination": [
						"obj-46",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-46",
						0
					],
					"destination": [
						"obj-47",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						3
					],
					"destination": [
						"obj-47",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-47",
						0
					],
					"destination": [
						"obj-48",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-3",
						0
					],
					"destination": [
						"obj-48",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						5
					],
					"destination": [
						"obj-48",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						0
					],
					"destination": [
						"obj-49",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						1
					],
					"destination": [
						"obj-51",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-49",
						0
					],
					"destination": [
						"obj-50",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-50",
						0
					],
					"destination": [
						"obj-51",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-51",
						0
					],
					"destination": [
						"obj-52",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						0
					],
					"destination": [
						"obj-53",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						0
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						1
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						2
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						3
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						4
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						5
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						6
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						7
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						8
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						9
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						10
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						11
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						12
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						13
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						14
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						15
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						16
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						17
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						18
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						19
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						20
					],
					"destination": [
						"obj-54",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-53",
						21
					],
					"destination": [
						"obj-55",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-55",
						0
					],
					"destination": [
						"obj-56",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						3
					],
					"destination": [
						"obj-57",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-57",
						0
					],
					"destination": [
						"obj-48",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						2
					],
					"destination": [
						"obj-58",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-58",
						0
					],
					"destination": [
						"obj-60",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-60",
						0
					],
					"destination": [
						"obj-59",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						1
					],
					"destination": [
						"obj-61",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-54",
						0
					],
					"destination": [
						"obj-62",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-62",
						0
					],
					"destination": [
						"obj-63",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-48",
						1
					],
					"destination": [
						"obj-64",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-64",
						0
					],
					"destination": [
						"obj-65",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						2
					],
					"destination": [
						"obj-66",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-66",
						0
					],
					"destination": [
						"obj-68",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-68",
						0
					],
					"destination": [
						"obj-67",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						1
					],
					"destination": [
						"obj-61",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-61",
						0
					],
					"destination": [
						"obj-69",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						2
					],
					"destination": [
						"obj-59",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						1
					],
					"destination": [
						"obj-70",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-70",
						0
					],
					"destination": [
						"obj-67",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						0
					],
					"destination": [
						"obj-71",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-71",
						0
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-69",
						0
					],
					"destination": [
						"obj-72",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-72",
						0
					],
					"destination": [
						"obj-73",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-65",
						0
					],
					"destination": [
						"obj-74",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-74",
						0
					],
					"destination": [
						"obj-48",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-10",
						1
					],
					"destination": [
						"obj-75",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-10",
						1
					],
					"destination": [
						"obj-76",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-75",
						0
					],
					"destination": [
						"obj-59",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-76",
						0
					],
					"destination": [
						"obj-67",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						1
					],
					"destination": [
						"obj-77",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-77",
						0
					],
					"destination": [
						"obj-78",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						1
					],
					"destination": [
						"obj-79",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-78",
						0
					],
					"destination": [
						"obj-79",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-79",
						0
					],
					"destination": [
						"obj-80",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-80",
						0
					],
					"destination": [
						"obj-81",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						0
					],
					"destination": [
						"obj-82",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						0
					],
					"destination": [
						"obj-83",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-83",
						0
					],
					"destination": [
						"obj-82",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-82",
						0
					],
					"destination": [
						"obj-84",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-84",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						1
					],
					"destination": [
						"obj-85",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						1
					],
					"destination": [
						"obj-86",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-86",
						0
					],
					"destination": [
						"obj-85",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-85",
						0
					],
					"destination": [
						"obj-87",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-87",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						2
					],
					"destination": [
						"obj-88",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						2
					],
					"destination": [
						"obj-89",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-89",
						0
					],
					"destination": [
						"obj-90",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-90",
						0
					],
					"destination": [
						"obj-88",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-88",
						0
					],
					"destination": [
						"obj-91",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-91",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						3
					],
					"destination": [
						"obj-92",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						3
					],
					"destination": [
						"obj-93",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-93",
						0
					],
					"destination": [
						"obj-94",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-94",
						0
					],
					"destination": [
						"obj-92",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-92",
						0
					],
					"destination": [
						"obj-95",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-95",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						4
					],
					"destination": [
						"obj-96",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						4
					],
					"destination": [
						"obj-97",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-97",
						0
					],
					"destination": [
						"obj-98",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-98",
						0
					],
					"destination": [
						"obj-96",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-96",
						0
					],
					"destination": [
						"obj-99",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-99",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						5
					],
					"destination": [
						"obj-100",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						5
					],
					"destination": [
						"obj-101",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-101",
						0
					],
					"destination": [
						"obj-102",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-102",
						0
					],
					"destination": [
						"obj-100",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-100",
						0
					],
					"destination": [
						"obj-103",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-103",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						6
					],
					"destination": [
						"obj-104",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						6
					],
					"destination": [
						"obj-105",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-105",
						0
					],
					"destination": [
						"obj-104",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-104",
						0
					],
					"destination": [
						"obj-106",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-106",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						7
					],
					"destination": [
						"obj-107",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						7
					],
					"destination": [
						"obj-108",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-108",
						0
					],
					"destination": [
						"obj-109",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-109",
						0
					],
					"destination": [
						"obj-107",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-107",
						0
					],
					"destination": [
						"obj-110",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-110",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						8
					],
					"destination": [
						"obj-111",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						8
					],
					"destination": [
						"obj-112",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-112",
						0
					],
					"destination": [
						"obj-113",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-113",
						0
					],
					"destination": [
						"obj-111",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-111",
						0
					],
					"destination": [
						"obj-114",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-114",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						9
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						9
					],
					"destination": [
						"obj-116",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-116",
						0
					],
					"destination": [
						"obj-115",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-115",
						0
					],
					"destination": [
						"obj-117",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-117",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						10
					],
					"destination": [
						"obj-118",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						10
					],
					"destination": [
						"obj-119",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-119",
						0
					],
					"destination": [
						"obj-118",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-118",
						0
					],
					"destination": [
						"obj-120",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-120",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						11
					],
					"destination": [
						"obj-121",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						11
					],
					"destination": [
						"obj-122",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-122",
						0
					],
					"destination": [
						"obj-121",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-121",
						0
					],
					"destination": [
						"obj-123",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-123",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						12
					],
					"destination": [
						"obj-124",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						12
					],
					"destination": [
						"obj-125",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-125",
						0
					],
					"destination": [
						"obj-126",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-126",
						0
					],
					"destination": [
						"obj-124",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-124",
						0
					],
					"destination": [
						"obj-127",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-127",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						13
					],
					"destination": [
						"obj-128",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						13
					],
					"destination": [
						"obj-130",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-130",
						1
					],
					"destination": [
						"obj-131",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-131",
						0
					],
					"destination": [
						"obj-129",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-129",
						0
					],
					"destination": [
						"obj-132",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-132",
						0
					],
					"destination": [
						"obj-128",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-128",
						0
					],
					"destination": [
						"obj-129",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-128",
						0
					],
					"destination": [
						"obj-133",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-133",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						14
					],
					"destination": [
						"obj-134",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						14
					],
					"destination": [
						"obj-136",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-136",
						1
					],
					"destination": [
						"obj-137",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-137",
						0
					],
					"destination": [
						"obj-135",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-135",
						0
					],
					"destination": [
						"obj-138",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-138",
						0
					],
					"destination": [
						"obj-134",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-134",
						0
					],
					"destination": [
						"obj-135",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-134",
						0
					],
					"destination": [
						"obj-139",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-139",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						15
					],
					"destination": [
						"obj-140",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-140",
						1
					],
					"destination": [
						"obj-141",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						15
					],
					"destination": [
						"obj-141",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-141",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						16
					],
					"destination": [
						"obj-142",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-142",
						1
					],
					"destination": [
						"obj-143",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						16
					],
					"destination": [
						"obj-143",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-143",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						17
					],
					"destination": [
						"obj-144",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-144",
						1
					],
					"destination": [
						"obj-145",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						17
					],
					"destination": [
						"obj-145",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-145",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						18
					],
					"destination": [
						"obj-146",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-146",
						1
					],
					"destination": [
						"obj-147",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						18
					],
					"destination": [
						"obj-147",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-147",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						19
					],
					"destination": [
						"obj-148",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						19
					],
					"destination": [
						"obj-150",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-150",
						1
					],
					"destination": [
						"obj-151",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-151",
						0
					],
					"destination": [
						"obj-149",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-149",
						0
					],
					"destination": [
						"obj-152",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-152",
						0
					],
					"destination": [
						"obj-148",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-148",
						0
					],
					"destination": [
						"obj-149",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-148",
						0
					],
					"destination": [
						"obj-153",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-153",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-52",
						20
					],
					"destination": [
						"obj-154",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-154",
						1
					],
					"destination": [
						"obj-155",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-41",
						20
					],
					"destination": [
						"obj-155",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-155",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-156",
						0
					],
					"destination": [
						"obj-157",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-156",
						1
					],
					"destination": [
						"obj-157",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-157",
						0
					],
					"destination": [
						"obj-158",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-158",
						0
					],
					"destination": [
						"obj-159",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-159",
						0
					],
					"destination": [
						"obj-160",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-160",
						0
					],
					"destination": [
						"obj-161",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-161",
						0
					],
					"destination": [
						"obj-162",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-162",
						0
					],
					"destination": [
						"obj-12",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-163",
						1
					],
					"destination": [
						"obj-161",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-163",
						0
					],
					"destination": [
						"obj-164",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-164",
						0
					],
					"destination": [
						"obj-160",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-165",
						0
					],
					"destination": [
						"obj-166",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-166",
						0
					],
					"destination": [
						"obj-163",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-42",
						0
					],
					"destination": [
						"obj-163",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						0
					],
					"destination": [
						"obj-168",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						0
					],
					"destination": [
						"obj-169",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						0
					],
					"destination": [
						"obj-170",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-170",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						1
					],
					"destination": [
						"obj-171",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-171",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						2
					],
					"destination": [
						"obj-172",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-172",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						3
					],
					"destination": [
						"obj-173",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-173",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						4
					],
					"destination": [
						"obj-174",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-174",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						5
					],
					"destination": [
						"obj-175",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-175",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						6
					],
					"destination": [
						"obj-176",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-176",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						7
					],
					"destination": [
						"obj-177",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-177",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						8
					],
					"destination": [
						"obj-178",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-178",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						5
					],
					"destination": [
						"obj-135",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						3
					],
					"destination": [
						"obj-165",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-169",
						1
					],
					"destination": [
						"obj-179",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-179",
						0
					],
					"destination": [
						"obj-129",
						1
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-179",
						0
					],
					"destination": [
						"obj-180",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-180",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-168",
						0
					],
					"destination": [
						"obj-181",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-168",
						0
					],
					"destination": [
						"obj-182",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-182",
						0
					],
					"destination": [
						"obj-183",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-181",
						0
					],
					"destination": [
						"obj-184",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-183",
						0
					],
					"destination": [
						"obj-184",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-184",
						0
					],
					"destination": [
						"obj-185",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-185",
						0
					],
					"destination": [
						"obj-5",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						1
					],
					"destination": [
						"obj-6",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						2
					],
					"destination": [
						"obj-186",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-186",
						0
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						3
					],
					"destination": [
						"obj-187",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-187",
						0
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						4
					],
					"destination": [
						"obj-188",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-188",
						0
					],
					"destination": [
						"obj-7",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-167",
						4
					],
					"destination": [
						"obj-189",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-40",
						4
					],
					"destination": [
						"obj-191",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-191",
						0
					],
					"destination": [
						"obj-190",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-190",
						0
					],
					"destination": [
						"obj-4",
						0
					]
				}
			}
		]
	}
}
