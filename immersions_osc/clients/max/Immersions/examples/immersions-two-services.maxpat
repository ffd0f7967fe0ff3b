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
			80.0,
			80.0,
			760.0,
			420.0
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
					"text": "Two [immersions], two services (e.g. immersions-osc serve --port 57130 and --port 57140): each instance needs its own @listen port and has its own MIDI map (#0 inside).",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						15,
						10,
						700,
						40
					],
					"id": "obj-1"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "immersions @port 57130 @listen 57133",
					"numinlets": 2,
					"numoutlets": 4,
					"patching_rect": [
						15,
						150,
						260,
						22
					],
					"outlettype": [
						"signal",
						"",
						"",
						""
					],
					"id": "obj-2"
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
						100,
						94,
						22
					],
					"id": "obj-3"
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
						125,
						100,
						31,
						22
					],
					"id": "obj-4"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "play 1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						235,
						100,
						52,
						22
					],
					"id": "obj-5"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions-57130",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						15,
						200,
						164,
						22
					],
					"id": "obj-6"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "*~ 0.5",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						15,
						240,
						52,
						22
					],
					"outlettype": [
						"signal"
					],
					"id": "obj-7"
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
						280,
						52,
						22
					],
					"id": "obj-8"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "immersions @port 57140 @listen 57135",
					"numinlets": 2,
					"numoutlets": 4,
					"patching_rect": [
						375,
						150,
						260,
						22
					],
					"outlettype": [
						"signal",
						"",
						"",
						""
					],
					"id": "obj-9"
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
						375,
						100,
						94,
						22
					],
					"id": "obj-10"
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
						485,
						100,
						31,
						22
					],
					"id": "obj-11"
				}
			},
			{
				"box": {
					"maxclass": "message",
					"text": "play 1",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [
						""
					],
					"patching_rect": [
						595,
						100,
						52,
						22
					],
					"id": "obj-12"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "print immersions-57140",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [
						375,
						200,
						164,
						22
					],
					"id": "obj-13"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "*~ 0.5",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [
						375,
						240,
						52,
						22
					],
					"outlettype": [
						"signal"
					],
					"id": "obj-14"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"text": "ezdac~",
					"numinlets": 2,
					"numoutlets": 0,
					"patching_rect": [
						375,
						280,
						52,
						22
					],
					"id": "obj-15"
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
						"obj-2",
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
						"obj-2",
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
						"obj-2",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-2",
						3
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
						"obj-2",
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
						"obj-7",
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
						"obj-7",
						0
					],
					"destination": [
						"obj-8",
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
						"obj-9",
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
						"obj-9",
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
						"obj-9",
						0
					]
				}
			},
			{
				"patchline": {
					"source": [
						"obj-9",
						3
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
						"obj-9",
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
						"obj-15",
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
						"obj-15",
						1
					]
				}
			}
		]
	}
}
