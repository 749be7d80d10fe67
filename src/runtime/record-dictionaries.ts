/**
 * Preset dictionaries for deflating patient records: text a typical record repeats, so even the
 * first kilobyte of a new patient's record compresses. They are part of the stored format: records
 * written with them can be read only with them, so they never change; a new dictionary needs a new
 * record version (see record-codec.ts).
 */

const STATE_SAMPLE =
  '"ask":{"seq":12,"q":"pain","i":0},"status":"onboarding","status":"paused","status":"stopped","status":"escalated","status":"clinician_hold","resumeTo":"active",' +
  '"unreachableSince":"2026-05-30","pausedBy":"patient","locale":"de","riskGroup":"medium","riskGroup":"high","ageBand":"40_50",' +
  '"timezone":"America/New_York","timezone":"Europe/London","timezone":"UTC","quietHours":null,"coachCode":"COACH-7",' +
  '["2026-05-26",86400000,null,"deep_core:1,extensors:1,lateral_core:1!","skipped",5,null,null,"hold"],' +
  '["2026-05-25",86400000,43200000,"deep_core:2,extensors:2,lateral_core:2,glutes:1,balance:1","partly",7,"too_hard","moderate","setback"],' +
  '["2026-05-24",86400000,null,"deep_core:2,extensors:2,lateral_core:2,glutes:2,loading:1","done",2,"too_easy","severe","breakthrough"],' +
  '["2026-05-22","glutes",2,1,"progression","reason.setback_baseline",{"pain":6,"diff":2,"baseline":4}],' +
  '["2026-05-23","balance",2,1,"progression","reason.setback_rise",{"pain":4,"rise":2,"yesterday":2}],' +
  '["2026-05-23","loading",1,2,"coach","reason.coach",{"coach":"tg:900"}],' +
  '{"v":1,"id":"tg:","locale":"en","status":"active","createdAt":1770000000000,"ask":null,"lastSeq":10,"profile":{"startBack":[0,0,0,0,0,0,0,0,0],"deficits":[],"redFlags":[],"ageBand":"20_39","newPain":false,"baselinePain":4,"riskGroup":"low","sideLeft":45,"sideRight":45,"stanceSeconds":45,"slBridgeOk":true,"kneeChestThighLifts":false,"kneeFalloutRocks":false},"schedule":{"timezone":"Europe/Berlin","drillTime":"08:00","reminderTime":"20:00","quietHours":{"start":"22:00","end":"07:00"}},"levels":{"deep_core":{"level":4,"changedOn":"2026-05-25","locked":false},"extensors":{"level":4,"changedOn":"2026-05-25","locked":false},"glutes":{"level":3,"changedOn":"2026-05-21","locked":false},"lateral_core":{"level":4,"changedOn":"2026-05-25","locked":false},"flexor_endurance":{"level":3,"changedOn":"2026-05-21","locked":false},"hip_flexor_mobility":{"level":4,"changedOn":"2026-05-12","locked":false},"balance":{"level":3,"changedOn":"2026-05-19","locked":false},"loading":{"level":3,"changedOn":"2026-05-19","locked":false}},"days":[["2026-05-27",1779861600000,null,"deep_core:4,extensors:4,lateral_core:4,flexor_endurance:3,hip_flexor_mobility:4","done",3,"about_right","none","hold"],["2026-05-28",86400000,null,"deep_core:4,extensors:4,lateral_core:4,hip_flexor_mobility:4,balance:3","partly",2,"about_right","mild","hold"],["2026-05-29",86400000,null,"deep_core:4,extensors:4,lateral_core:4,balance:3,loading:3","done",3,"too_easy","none","hold"],["2026-05-30",86400000,null,"deep_core:4,extensors:4,lateral_core:4,loading:3,glutes:3","done",3,"about_right","none","hold"]],"levelChanges":[["2026-05-25","deep_core",3,4,"progression","reason.breakthrough",{"sessions":3,"pain":3,"avg":2.3,"previous":3.7}],["2026-05-25","extensors",3,4,"progression","reason.breakthrough",{"sessions":3,"pain":3,"avg":2.3,"previous":3.7}]],"vacationUntil":null,"pausedBy":null,"lastHeardOn":"2026-05-30","lastScreenOn":"2026-05-25","nudges":{"silentOn":null,"coachSilentOn":null},"coachCode":null,"coachNotes":[]}';

const AUDIT_SAMPLE =
  '[3600000,"red_flag",{"level":"clinician","items":[]}],[3600000,"coach",{"coachId":"tg:900","action":"clear"}],' +
  '[3600000,"status",{"status":"paused","by":"patient"}],[3600000,"status",{"reachable":false}],[3600000,"status",{"timezone":"Europe/Berlin"}],' +
  '[86400000,"decision",{"date":"2026-05-29","kind":"setback","reason":{"key":"reason.setback_rise","params":{"pain":4,"rise":2,"yesterday":2}},"changes":[{"ladder":"hip_flexor_mobility","from":2,"to":1}],"held":[{"key":"held.bottom","params":{"ladder":"deep_core"}},{"key":"held.bottom","params":{"ladder":"extensors"}},{"key":"held.bottom","params":{"ladder":"lateral_core"}}]}],' +
  '[86400000,"decision",{"date":"2026-05-30","kind":"breakthrough","reason":{"key":"reason.breakthrough","params":{"sessions":3,"pain":3,"avg":2.3,"previous":3.7}},"changes":[{"ladder":"glutes","from":2,"to":3},{"ladder":"balance","from":2,"to":3}],"held":[]}],' +
  '[[3600000,"consent",{"given":true}],[3600000,"status",{"status":"active","deficits":[],"risk":"low"}],[3600000,"decision",{"date":"2026-03-02","kind":"hold","reason":{"key":"reason.hold","params":{"pain":2,"baseline":4}},"changes":[],"held":[]}],[86400000,"decision",{"date":"2026-05-28","kind":"hold","reason":{"key":"reason.hold","params":{"pain":3,"baseline":4}},"changes":[],"held":[]}]]';

export const STATE_DICTIONARY = Buffer.from(STATE_SAMPLE, 'utf8');
export const AUDIT_DICTIONARY = Buffer.from(AUDIT_SAMPLE, 'utf8');
