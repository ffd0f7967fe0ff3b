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
			100.0,
			100.0,
			900.0,
			680.0
		],
		"openinpresentation": 0,
		"default_fontsize": 12.0,
		"gridsize": [
			15.0,
			15.0
		],
		"showrootpatcherontab": 0,
		"showontab": 0,
		"boxes": [
			{
				"box": {
					"maxclass": "newobj",
					"text": "p basic",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						15,
						15,
						95,
						22
					],
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
							0.0,
							26.0,
							900.0,
							654.0
						],
						"openinpresentation": 0,
						"default_fontsize": 12.0,
						"gridsize": [
							15.0,
							15.0
						],
						"boxes": [
							{
								"box": {
									"maxclass": "comment",
									"text": "immersions",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										10,
										300,
										48
									],
									"fontsize": 24,
									"id": "obj-1"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Play the Immersions service (immersions-osc serve) from Max: controls and MIDI in, status, energy and the loop out.",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										55,
										800,
										40
									],
									"id": "obj-2"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "r immersions-help-in",
									"numinlets": 1,
									"numoutlets": 1,
									"patching_rect": [
										15,
										100,
										150,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-3"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "immersions @listen 57134",
									"numinlets": 2,
									"numoutlets": 4,
									"patching_rect": [
										15,
										420,
										220,
										22
									],
									"outlettype": [
										"signal",
										"",
										"",
										""
									],
									"id": "obj-4"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "@listen 57134: this help's own port, so it runs beside your patch (whose [immersions] listens on 57133). One port per [immersions].",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										245,
										420,
										600,
										40
									],
									"id": "obj-5"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "play",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										130,
										60,
										20
									],
									"id": "obj-6"
								}
							},
							{
								"box": {
									"maxclass": "toggle",
									"numinlets": 1,
									"numoutlets": 1,
									"outlettype": [
										"int"
									],
									"patching_rect": [
										15,
										150,
										24,
										24
									],
									"parameter_enable": 0,
									"id": "obj-7"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "run",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										75,
										130,
										60,
										20
									],
									"id": "obj-8"
								}
							},
							{
								"box": {
									"maxclass": "toggle",
									"numinlets": 1,
									"numoutlets": 1,
									"outlettype": [
										"int"
									],
									"patching_rect": [
										75,
										150,
										24,
										24
									],
									"parameter_enable": 0,
									"id": "obj-9"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "volume",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										135,
										130,
										80,
										20
									],
									"id": "obj-10"
								}
							},
							{
								"box": {
									"maxclass": "flonum",
									"numinlets": 1,
									"numoutlets": 2,
									"outlettype": [
										"",
										"bang"
									],
									"patching_rect": [
										135,
										150,
										60,
										22
									],
									"parameter_enable": 0,
									"minimum": 0.0,
									"maximum": 1.5,
									"id": "obj-11"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend play",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										15,
										200,
										94,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-12"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend run",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										75,
										230,
										87,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-13"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend volume",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										135,
										260,
										108,
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
									"maxclass": "message",
									"text": "random",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										260,
										130,
										52,
										22
									],
									"id": "obj-15"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "noise",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										260,
										158,
										45,
										22
									],
									"id": "obj-16"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "status",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										260,
										186,
										52,
										22
									],
									"id": "obj-17"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "learning_rate 0.01",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										260,
										214,
										136,
										22
									],
									"id": "obj-18"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "layer encoder.blocks.3.relu2",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										260,
										242,
										206,
										22
									],
									"id": "obj-19"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "the toggles and the number follow the service (set: nothing is sent back), so the first click always changes something",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										520,
										130,
										360,
										60
									],
									"id": "obj-20"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "route playing running volume connected target fps steps",
									"numinlets": 1,
									"numoutlets": 8,
									"patching_rect": [
										150,
										480,
										395,
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
										""
									],
									"id": "obj-21"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "set $1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										150,
										510,
										52,
										22
									],
									"id": "obj-22"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "set $1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										210,
										510,
										52,
										22
									],
									"id": "obj-23"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "set $1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										270,
										510,
										52,
										22
									],
									"id": "obj-24"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "connected",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										330,
										510,
										70,
										20
									],
									"id": "obj-25"
								}
							},
							{
								"box": {
									"maxclass": "toggle",
									"numinlets": 1,
									"numoutlets": 1,
									"outlettype": [
										"int"
									],
									"patching_rect": [
										400,
										510,
										20,
										20
									],
									"parameter_enable": 0,
									"id": "obj-26"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "set $1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										330,
										540,
										52,
										22
									],
									"id": "obj-27"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										430,
										570,
										300,
										22
									],
									"id": "obj-28"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend set",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										430,
										540,
										87,
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
									"maxclass": "multislider",
									"numinlets": 1,
									"numoutlets": 2,
									"outlettype": [
										"",
										""
									],
									"patching_rect": [
										15,
										580,
										300,
										60
									],
									"parameter_enable": 0,
									"size": 25,
									"setminmax": [
										0.0,
										1.0
									],
									"setstyle": 1,
									"id": "obj-30"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "t l l l",
									"numinlets": 1,
									"numoutlets": 3,
									"patching_rect": [
										330,
										600,
										59,
										22
									],
									"outlettype": [
										"",
										"",
										""
									],
									"id": "obj-31"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "zl len",
									"numinlets": 2,
									"numoutlets": 2,
									"patching_rect": [
										330,
										630,
										52,
										22
									],
									"outlettype": [
										"",
										""
									],
									"id": "obj-32"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "zl change",
									"numinlets": 2,
									"numoutlets": 2,
									"patching_rect": [
										330,
										655,
										73,
										22
									],
									"outlettype": [
										"",
										""
									],
									"id": "obj-33"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend size",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										330,
										680,
										94,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-34"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "maximum 0.",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										480,
										630,
										80,
										22
									],
									"outlettype": [
										"float"
									],
									"id": "obj-35"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "expr ceil(max($f1\\, 0.25) * 4.) / 4.",
									"numinlets": 1,
									"numoutlets": 1,
									"patching_rect": [
										480,
										655,
										262,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-36"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "maximum 0.",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										480,
										680,
										80,
										22
									],
									"outlettype": [
										"float"
									],
									"id": "obj-37"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "t f f",
									"numinlets": 1,
									"numoutlets": 2,
									"patching_rect": [
										480,
										705,
										45,
										22
									],
									"outlettype": [
										"float",
										"float"
									],
									"id": "obj-38"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "0.",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										600,
										655,
										30,
										22
									],
									"id": "obj-39"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "prepend setminmax 0.",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										480,
										755,
										150,
										22
									],
									"outlettype": [
										""
									],
									"id": "obj-40"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "zl change",
									"numinlets": 2,
									"numoutlets": 2,
									"patching_rect": [
										480,
										730,
										73,
										22
									],
									"outlettype": [
										"",
										""
									],
									"id": "obj-41"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "per-layer energy, shallow to deep: size and range follow the data (live energies exceed 1)",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										645,
										300,
										60
									],
									"id": "obj-42"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "ezdac~",
									"numinlets": 2,
									"numoutlets": 0,
									"patching_rect": [
										15,
										470,
										52,
										22
									],
									"id": "obj-43"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "*~ 0.8",
									"numinlets": 2,
									"numoutlets": 1,
									"patching_rect": [
										15,
										450,
										52,
										22
									],
									"outlettype": [
										"signal"
									],
									"id": "obj-44"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "route error",
									"numinlets": 2,
									"numoutlets": 2,
									"patching_rect": [
										700,
										480,
										87,
										22
									],
									"outlettype": [
										"",
										""
									],
									"id": "obj-45"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "print immersions-events",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										700,
										510,
										171,
										22
									],
									"id": "obj-46"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-3",
										0
									],
									"destination": [
										"obj-4",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
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
										"obj-12",
										0
									],
									"destination": [
										"obj-4",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-9",
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
										"obj-13",
										0
									],
									"destination": [
										"obj-4",
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
										"obj-4",
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
										"obj-4",
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
										"obj-4",
										0
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
										"obj-4",
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
										"obj-4",
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
										"obj-4",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
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
										"obj-21",
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
										"obj-22",
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
										"obj-21",
										1
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
										"obj-9",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-21",
										2
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
										"obj-24",
										0
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
										"obj-21",
										3
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
										"obj-21",
										4
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
										"obj-29",
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
										"obj-4",
										2
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
										"obj-30",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-31",
										2
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
										0
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
										"obj-30",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-31",
										1
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
										"obj-37",
										0
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
										1
									],
									"destination": [
										"obj-37",
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
										"obj-37",
										1
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
										"obj-41",
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
										"obj-40",
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
										"obj-30",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-44",
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
										"obj-43",
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
										"obj-43",
										1
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-4",
										3
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
										"obj-45",
										1
									],
									"destination": [
										"obj-46",
										0
									]
								}
							}
						],
						"showontab": 1
					},
					"id": "obj-1"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "p midi",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						120,
						15,
						88,
						22
					],
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
							0.0,
							26.0,
							900.0,
							654.0
						],
						"openinpresentation": 0,
						"default_fontsize": 12.0,
						"gridsize": [
							15.0,
							15.0
						],
						"boxes": [
							{
								"box": {
									"maxclass": "comment",
									"text": "MIDI and learn mode",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										10,
										400,
										36
									],
									"fontsize": 18,
									"id": "obj-1"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "[immersions] listens to every MIDI input ([ctlin]); the default map is the Behringer BCF2000's preset 1 (faders CC 81-88, encoders 1-4, buttons 65-72). Learn: send 'learn <control>', then move a knob: it takes over that control (its old CC is freed), as in the SuperCollider and Pd patches. 'map' prints the map in the Max window.",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										50,
										850,
										60
									],
									"id": "obj-2"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "s immersions-help-in",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										300,
										150,
										22
									],
									"id": "obj-3"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "learn volume",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										150,
										94,
										22
									],
									"id": "obj-4"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "learn learning_rate",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										135,
										150,
										143,
										22
									],
									"id": "obj-5"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "learn play",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										255,
										150,
										80,
										22
									],
									"id": "obj-6"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "map",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										375,
										150,
										31,
										22
									],
									"id": "obj-7"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "cc 81 100",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										190,
										73,
										22
									],
									"id": "obj-8"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "midi 0",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										135,
										190,
										52,
										22
									],
									"id": "obj-9"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "midi 1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										255,
										190,
										52,
										22
									],
									"id": "obj-10"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "cc 81 100: what fader 1 at 100 does (no controller needed). midi 0: ignore [ctlin] (feed the right inlet yourself, e.g. from one device's [ctlin a]).",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										240,
										850,
										40
									],
									"id": "obj-11"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Controls by name, with the CC map: volume (81), weight (82), learning_rate (83), energy_penalty (84), sparsity_penalty (85), high_frequency_penalty (86), mix_original (87), denoise (88), top_channel (89), pitch_shift (1), time_shift (2), mask (3), gradient_noise (4), run (65), play (66), random (67), noise (68), silence (69), previous (70), normalize_gradient (71), status (72)",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										340,
										850,
										80
									],
									"id": "obj-12"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-5",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-6",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-9",
										0
									],
									"destination": [
										"obj-3",
										0
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
										"obj-3",
										0
									]
								}
							}
						],
						"showontab": 1
					},
					"id": "obj-2"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "p audio",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						200,
						15,
						95,
						22
					],
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
							0.0,
							26.0,
							900.0,
							654.0
						],
						"openinpresentation": 0,
						"default_fontsize": 12.0,
						"gridsize": [
							15.0,
							15.0
						],
						"boxes": [
							{
								"box": {
									"maxclass": "comment",
									"text": "audio: the loop into Max",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										10,
										400,
										36
									],
									"fontsize": 18,
									"id": "obj-1"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "The service plays the loop on its audio output; [immersions]'s left outlet is audio input 1 ([adc~ 1] inside; 'input 3' picks another). Route the loop to an input Max can see:",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										50,
										850,
										40
									],
									"id": "obj-2"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "macOS: install BlackHole 2ch; run the service with its output on BlackHole (immersions-osc serve --audio portaudio --output-device BlackHole, see docs/clients.md); in Max, Options > Audio Status: Input Device BlackHole 2ch. With JackOSX: Max's device JackRouter, then jack_connect immersions:out JackRouter:in_1.",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										100,
										850,
										60
									],
									"id": "obj-3"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Windows: VB-Audio Virtual Cable: the service's output on CABLE Input, Max's input device CABLE Output (or JACK2 for Windows with the JACK ASIO driver, then jack_connect immersions:out as above).",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										170,
										850,
										40
									],
									"id": "obj-4"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Linux: Max does not run; use the Pure Data or SuperCollider patch (JACK).",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										230,
										850,
										20
									],
									"id": "obj-5"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "mc.adc~ 1 2",
									"numinlets": 1,
									"numoutlets": 1,
									"patching_rect": [
										15,
										290,
										87,
										22
									],
									"outlettype": [
										"multichannelsignal"
									],
									"id": "obj-6"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "the multichannel way: both loopback channels as one cable (then mc.* objects)",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										130,
										290,
										500,
										40
									],
									"id": "obj-7"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "s immersions-help-in",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										400,
										150,
										22
									],
									"id": "obj-8"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "input 1",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										360,
										59,
										22
									],
									"id": "obj-9"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "input 2",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										105,
										360,
										59,
										22
									],
									"id": "obj-10"
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
										"obj-8",
										0
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
										"obj-8",
										0
									]
								}
							}
						],
						"showontab": 1
					},
					"id": "obj-3"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "p osc",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						280,
						15,
						81,
						22
					],
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
							0.0,
							26.0,
							900.0,
							654.0
						],
						"openinpresentation": 0,
						"default_fontsize": 12.0,
						"gridsize": [
							15.0,
							15.0
						],
						"boxes": [
							{
								"box": {
									"maxclass": "comment",
									"text": "any OSC control",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										10,
										400,
										36
									],
									"fontsize": 18,
									"id": "obj-1"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Messages that start with /immersions/ go to the service as they are (docs/osc.md lists every address). Acks and errors come out of the events outlet.",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										50,
										850,
										40
									],
									"id": "obj-2"
								}
							},
							{
								"box": {
									"maxclass": "newobj",
									"text": "s immersions-help-in",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										320,
										150,
										22
									],
									"id": "obj-3"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "/immersions/target/layer encoder.blocks.3.relu2",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										100,
										339,
										22
									],
									"id": "obj-4"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "/immersions/target/channel encoder.blocks.6.relu2 12 2.",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										140,
										395,
										22
									],
									"id": "obj-5"
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
										15,
										180,
										234,
										22
									],
									"id": "obj-6"
								}
							},
							{
								"box": {
									"maxclass": "message",
									"text": "/immersions/player/volume 0.5",
									"numinlets": 2,
									"numoutlets": 1,
									"outlettype": [
										""
									],
									"patching_rect": [
										15,
										220,
										213,
										22
									],
									"id": "obj-7"
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
										15,
										260,
										192,
										22
									],
									"id": "obj-8"
								}
							}
						],
						"lines": [
							{
								"patchline": {
									"source": [
										"obj-4",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-5",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-6",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-7",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							},
							{
								"patchline": {
									"source": [
										"obj-8",
										0
									],
									"destination": [
										"obj-3",
										0
									]
								}
							}
						],
						"showontab": 1
					},
					"id": "obj-4"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "p ?",
					"numinlets": 0,
					"numoutlets": 0,
					"patching_rect": [
						360,
						15,
						67,
						22
					],
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
							0.0,
							26.0,
							900.0,
							654.0
						],
						"openinpresentation": 0,
						"default_fontsize": 12.0,
						"gridsize": [
							15.0,
							15.0
						],
						"boxes": [
							{
								"box": {
									"maxclass": "comment",
									"text": "?",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										10,
										100,
										36
									],
									"fontsize": 18,
									"id": "obj-1"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Arguments (attributes): @host (the service's computer, default 127.0.0.1); @port (the service's OSC port, default 57130); @listen (UDP port this object listens on (one per [immersions] in use), default 57133); @myhost (this computer's address as the service sees it, default 127.0.0.1); @token (the shared token of a service on another machine (started with --allow-remote), default none)",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										50,
										850,
										80
									],
									"id": "obj-2"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Inlets: messages: controls by name (volume 0.8, play 1, learn volume, ...), settings, raw /immersions/... OSC | MIDI CC pairs: cc-number value (the object also listens to every [ctlin] unless 'midi 0')",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										110,
										850,
										40
									],
									"id": "obj-3"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "Outlets: signal: the loop, from audio input 1 (see the audio tab: JACK, BlackHole, VB-Cable) | status: fps, steps, xruns, target, loops, playing, volume, subscribers, seconds, running, connected | per-layer energy (a list, shallow to deep) for a multislider | events: ack <address>, error <address> <why>, loop <version> <step> <seconds> <target>, learned <cc> <name>",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										170,
										850,
										80
									],
									"id": "obj-4"
								}
							},
							{
								"box": {
									"maxclass": "comment",
									"text": "The subscription is renewed every 5 s and dropped when the patcher closes. Reference: docs/refpages/immersions.maxref.xml in this package.",
									"numinlets": 1,
									"numoutlets": 0,
									"patching_rect": [
										15,
										250,
										850,
										40
									],
									"id": "obj-5"
								}
							}
						],
						"lines": [],
						"showontab": 1
					},
					"id": "obj-5"
				}
			}
		],
		"lines": []
	}
}
