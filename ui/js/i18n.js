// Thai and English for every page. Thai is the default for lifeguards; a choice, once made, is kept.
const STRINGS = {
  app_name: { th: "ศูนย์สั่งการการแพทย์ฉุกเฉินทางทะเล อันดามัน", en: "Andaman maritime dispatch" },
  app_short: { th: "สั่งการทางทะเล พังงา", en: "Phang Nga sea dispatch" },
  language_other: { th: "English", en: "ภาษาไทย" },
  sign_in: { th: "เข้าสู่ระบบ", en: "Sign in" },
  sign_out: { th: "ออกจากระบบ", en: "Sign out" },
  username: { th: "ชื่อผู้ใช้", en: "Username" },
  password: { th: "รหัสผ่าน", en: "Password" },
  signing_in: { th: "กำลังเข้าสู่ระบบ…", en: "Signing in…" },
  sign_in_failed: { th: "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง", en: "Wrong username or password" },
  no_signal_sign_in: { th: "ไม่มีสัญญาณ ลองอีกครั้งเมื่อมีสัญญาณ", en: "No signal. Try again when you have signal." },
  session_expired: { th: "หมดเวลาการเข้าระบบ กรุณาเข้าสู่ระบบอีกครั้ง รายงานที่ยังไม่ส่งจะไม่หาย", en: "Your sign-in has expired. Sign in again; unsent reports are kept." },
  nav_report: { th: "แจ้งเหตุ", en: "Report" },
  nav_board: { th: "กระดานสั่งการ", en: "Board" },
  role_lifeguard: { th: "ไลฟ์การ์ด / หน่วยหน้า", en: "Lifeguard / field crew" },
  role_operator: { th: "เจ้าหน้าที่สั่งการ", en: "Operator" },
  role_official: { th: "เจ้าหน้าที่สาธารณสุข (อ่านอย่างเดียว)", en: "Health official (read only)" },
  role_admin: { th: "ผู้ดูแลระบบ", en: "Administrator" },
  not_for_role: { th: "หน้านี้ไม่ใช่สำหรับบทบาทของคุณ", en: "This page is not for your role" },
  // the outbox and alerting on the board (notices.js)
  notice_dispatched: { th: "แจ้งลูกเรือออกเหตุ", en: "Dispatch to crew" },
  notice_referral_at_risk: { th: "แจ้งการส่งต่อเสี่ยงเกินเวลา", en: "Referral at risk" },
  notice_crew_message: { th: "ข้อความถึงลูกเรือ", en: "Message to crew" },
  notice_failed: { th: "ส่งไม่ถึง {failed} จาก {people} คน", en: "not delivered to {failed} of {people}" },
  notice_expired: { th: "ไม่ได้ส่ง (ช้าเกินไป)", en: "not sent (too late)" },
  notice_sending: { th: "ส่งถึงแล้ว {reached} จาก {people} คน", en: "{reached} of {people} reached" },
  notice_unreachable: { th: "ไม่มีช่องทางติดต่อ: {people}", en: "no way to reach: {people}" },
  notices_sending: { th: "กำลังส่งข้อความ {n} รายการ", en: "Sending {n} notifications" },
  warning_in_force: { th: "คำเตือน", en: "Warning" },
  until: { th: "ถึง", en: "until" },
  feed_error: { th: "อ่านแหล่งเตือนภัย {url} ไม่ได้ ({error})", en: "Cannot read alert feed {url} ({error})" },
  public_alert: { th: "ประกาศเตือนภัยสาธารณะ", en: "Public alert" },
  exercise: { th: "การฝึกซ้อม", en: "exercise" },
  // report form
  new_report: { th: "แจ้งเหตุใหม่", en: "New report" },
  source: { th: "แจ้งจาก", en: "Reporting from" },
  place: { th: "สถานที่", en: "Place" },
  pick_site: { th: "เลือกสถานที่ที่รู้จัก", en: "Pick a known place" },
  no_site: { th: "— ไม่เลือก (ใช้ GPS) —", en: "— none (use GPS) —" },
  use_gps: { th: "ใช้ตำแหน่ง GPS ของโทรศัพท์", en: "Use the phone's GPS" },
  gps_locating: { th: "กำลังหาตำแหน่ง…", en: "Finding position…" },
  gps_failed: { th: "หาตำแหน่ง GPS ไม่ได้ กรุณาเลือกสถานที่", en: "No GPS position; pick a place instead" },
  gps_clear: { th: "ล้าง GPS", en: "Clear GPS" },
  gps_accuracy: { th: "แม่นยำ ±{m} ม.", en: "accurate to ±{m} m" },
  triage: { th: "ระดับความรุนแรง (สี)", en: "Triage colour" },
  category: { th: "ประเภทเหตุ", en: "What happened" },
  patients: { th: "จำนวนผู้ป่วย", en: "Patients" },
  fewer: { th: "ลด", en: "Fewer" },
  more: { th: "เพิ่ม", en: "More" },
  description: { th: "รายละเอียดสั้น ๆ", en: "Short description" },
  patient_language: { th: "ภาษาของผู้ป่วย", en: "Patient's language" },
  languages_common: { th: "ภาษาที่พบบ่อย", en: "Common languages" },
  languages_all: { th: "ภาษาทั้งหมด", en: "All languages" },
  description_hint: { th: "เช่น นักท่องเที่ยวชาย ไม่หายใจ เริ่ม CPR แล้ว", en: "e.g. male tourist not breathing, CPR started" },
  send_report: { th: "ส่งรายงาน", en: "Send report" },
  missing_fields: { th: "กรุณาเลือก: {fields}", en: "Please choose: {fields}" },
  report_queued: { th: "บันทึกรายงานแล้ว กำลังส่ง…", en: "Report saved; sending…" },
  my_reports: { th: "รายงานของฉัน", en: "My reports" },
  no_reports: { th: "ยังไม่มีรายงาน", en: "No reports yet" },
  sent: { th: "ส่งแล้ว ✓", en: "sent ✓" },
  waiting_signal: { th: "รอสัญญาณ…", en: "waiting for signal…" },
  refused: { th: "ระบบไม่รับ", en: "refused" },
  discard: { th: "ทิ้ง", en: "Discard" },
  outbox_count: { th: "รอส่ง {n} รายการ", en: "{n} waiting to send" },
  online: { th: "มีสัญญาณ", en: "Online" },
  offline: { th: "ไม่มีสัญญาณ", en: "No signal" },
  follow_up: { th: "ติดตาม / บันทึกเพิ่ม", en: "Follow up" },
  hide: { th: "ซ่อน", en: "Hide" },
  loading: { th: "กำลังโหลด…", en: "Loading…" },
  load_failed: { th: "โหลดไม่ได้ (ไม่มีสัญญาณ?)", en: "Could not load (no signal?)" },
  add_milestone: { th: "บันทึกขั้นตอน", en: "Record a milestone" },
  no_assignment: { th: "ศูนย์สั่งการยังไม่ได้ส่งหน่วย บันทึกขั้นตอนได้เมื่อมีหน่วยรับภารกิจ", en: "No unit dispatched yet; milestones can be recorded once the command centre dispatches one." },
  not_your_unit: { th: "หน่วยที่ท่านประจำไม่ได้รับภารกิจนี้ ขั้นตอนของหน่วยอื่นบันทึกโดยลูกเรือของหน่วยนั้น", en: "Your unit is not on this incident; another unit's milestones are recorded by its own crew." },
  add_note: { th: "เพิ่มบันทึก", en: "Add a note" },
  send_note: { th: "ส่งบันทึก", en: "Send note" },
  note_hint: { th: "เช่น ผู้ป่วยรู้สึกตัว หายใจเองได้", en: "e.g. patient conscious, breathing" },
  resource: { th: "หน่วย", en: "Unit" },
  incident: { th: "เหตุ", en: "Incident" },
  reported_at: { th: "เวลาแจ้ง", en: "Reported" },
  // board
  live: { th: "ออนไลน์ (สด)", en: "Live" },
  connecting: { th: "กำลังเชื่อมต่อ…", en: "Connecting…" },
  reconnecting: { th: "ขาดการเชื่อมต่อ กำลังเชื่อมต่อใหม่…", en: "Connection lost, reconnecting…" },
  board_offline: { th: "ออฟไลน์ ข้อมูลบนกระดานอาจไม่เป็นปัจจุบัน", en: "Offline: the board may be out of date" },
  board_stale: {
    th: "ข้อมูลบนกระดานล่าช้า {duration} ({n} รายการที่บันทึกแล้วยังไม่แสดง)",
    en: "The board is {duration} behind: {n} recorded changes are not shown yet",
  },
  board_stalled: {
    th: "กระดานหยุดปรับปรุง ข้อมูลล่าช้า {duration} ({n} รายการที่บันทึกแล้วยังไม่แสดง) โปรดแจ้งผู้ดูแลระบบ",
    en: "The board has stopped updating: its data is {duration} behind ({n} recorded changes not shown). Tell the administrator",
  },
  incidents: { th: "เหตุที่ยังเปิดอยู่", en: "Open incidents" },
  no_incidents: { th: "ไม่มีเหตุที่เปิดอยู่", en: "No open incidents" },
  resources: { th: "หน่วยปฏิบัติการ", en: "Resources" },
  map: { th: "แผนที่", en: "Map" },
  map_offline: { th: "แผนที่ออฟไลน์ (แนวชายฝั่ง)", en: "Offline map (coastline)" },
  select_incident: { th: "เลือกเหตุจากรายการหรือแผนที่", en: "Pick an incident from the list or the map" },
  age: { th: "ผ่านไป", en: "Age" },
  patients_n: { th: "ผู้ป่วย {n}", en: "{n} patient(s)" },
  reporter: { th: "ผู้แจ้ง", en: "Reported by" },
  dispatch_code: { th: "รหัสสั่งการ (IDC)", en: "Dispatch code (IDC)" },
  scene_code: { th: "รหัส ณ ที่เกิดเหตุ (RC)", en: "Scene code (RC)" },
  set_triage: { th: "ตั้งรหัส", en: "Set" },
  recommended: { th: "หน่วยที่แนะนำ", en: "Recommended resources" },
  recommended_tag: { th: "แนะนำ", en: "recommended" },
  boats: { th: "เรือ", en: "Boats" },
  aeds: { th: "เครื่อง AED", en: "AEDs" },
  teams: { th: "ทีม", en: "Teams" },
  dispatch: { th: "สั่งออก", en: "Dispatch" },
  eta_min: { th: "ถึงใน ~{m} นาที", en: "ETA ~{m} min" },
  km: { th: "{d} กม.", en: "{d} km" },
  none_available: { th: "ไม่มีหน่วยว่าง", en: "none available" },
  assigned: { th: "หน่วยที่รับภารกิจ", en: "Assigned" },
  next_milestone: { th: "ขั้นต่อไป", en: "Next" },
  referral: { th: "การส่งต่อผู้ป่วย", en: "Referral" },
  request_referral: { th: "ขอส่งต่อ", en: "Request referral" },
  facility: { th: "สถานพยาบาลปลายทาง", en: "Receiving facility" },
  carried_by: { th: "ส่งด้วยหน่วย", en: "Carried by" },
  no_resource: { th: "— ยังไม่ระบุ —", en: "— not yet —" },
  deadline: { th: "ต้องถึงภายใน", en: "Deadline" },
  guarantee: { th: "รับประกัน {m} นาที", en: "{m}-minute guarantee" },
  no_guarantee: { th: "โซนนี้ไม่มีเวลารับประกัน", en: "No guarantee in this zone" },
  referral_requested: { th: "ขอส่งต่อแล้ว ต้องถึง {facility} ภายใน {time} ({m} นาที)", en: "Referral requested: must reach {facility} by {time} ({m} min)" },
  referral_requested_nodeadline: { th: "ขอส่งต่อแล้วไปยัง {facility} (โซนนี้ไม่มีเวลารับประกัน)", en: "Referral requested to {facility} (no guarantee in this zone)" },
  time_left: { th: "เหลือเวลา", en: "Time left" },
  overdue: { th: "เกินเวลา", en: "Overdue" },
  predicted_arrival: { th: "คาดว่าจะถึง", en: "Predicted arrival" },
  arrived: { th: "ถึงแล้ว", en: "Arrived" },
  close_incident: { th: "ปิดเหตุ", en: "Close incident" },
  outcome: { th: "ผลลัพธ์", en: "Outcome" },
  close: { th: "ปิด", en: "Close" },
  confirm_close: { th: "ปิดเหตุ #{id} ด้วยผล “{outcome}”? หน่วยทั้งหมดจะถูกปล่อยกลับ", en: "Close incident #{id} as “{outcome}”? Every unit on it is released." },
  timeline: { th: "ลำดับเหตุการณ์", en: "Timeline" },
  // an operator's corrections
  stand_down: { th: "ถอนหน่วย", en: "Stand down" },
  confirm_stand_down: { th: "ถอนหน่วย {unit} ออกจากเหตุ #{id}? หน่วยจะกลับเป็นว่าง", en: "Stand {unit} down from incident #{id}? It becomes available again." },
  stood_down: { th: "ถอนหน่วย {unit} แล้ว", en: "{unit} stood down" },
  reassign_to: { th: "ย้ายไปเหตุ…", en: "Reassign to…" },
  confirm_reassign: { th: "ย้ายหน่วย {unit} จากเหตุ #{from} ไปเหตุ #{to}?", en: "Move {unit} from incident #{from} to incident #{to}?" },
  reassigned: { th: "ย้ายหน่วย {unit} ไปเหตุ #{to} แล้ว", en: "{unit} reassigned to incident #{to}" },
  no_other_incident: { th: "ไม่มีเหตุอื่นที่เปิดอยู่", en: "no other open incident" },
  change_carrier: { th: "เปลี่ยนหน่วยนำส่ง", en: "Change carrier" },
  confirm_change_carrier: { th: "ให้ {unit} นำส่งผู้ป่วยแทน? เวลารับประกันยังนับต่อจากเวลาขอส่งต่อเดิม", en: "Let {unit} carry the patient instead? The guarantee keeps counting from the original request." },
  carrier_changed: { th: "หน่วยนำส่งคือ {unit}", en: "{unit} now carries the patient" },
  change_destination: { th: "เปลี่ยนสถานพยาบาลปลายทาง", en: "Change destination" },
  confirm_change_destination: { th: "ส่งผู้ป่วยไป {facility} แทน? เวลารับประกันยังนับต่อจากเวลาขอส่งต่อเดิม", en: "Send the patient to {facility} instead? The guarantee keeps counting from the original request." },
  destination_changed: { th: "ปลายทางคือ {facility}", en: "Now going to {facility}" },
  reassigned_from: { th: "ย้ายมาจากเหตุ #{id}", en: "moved here from incident #{id}" },
  ended_stood_down: { th: "ถอนหน่วยแล้ว", en: "Stood down" },
  ended_reassigned: { th: "ย้ายไปเหตุอื่นแล้ว", en: "Reassigned" },
  released_units: { th: "หน่วยที่ปล่อยแล้ว", en: "Released" },
  alert_at_risk: { th: "เสี่ยงล่าช้า: การส่งต่อเหตุ {id} ไป {facility}", en: "At risk: referral for {id} to {facility}" },
  alert_breached: { th: "เกินเวลารับประกัน: การส่งต่อเหตุ {id} ไป {facility}", en: "Breached: referral for {id} to {facility}" },
  acknowledge: { th: "รับทราบ", en: "Acknowledge" },
  sound_on: { th: "เปิดเสียงเตือน", en: "Enable alert sound" },
  status: { th: "สถานะ", en: "Status" },
  since: { th: "ตั้งแต่", en: "Since" },
  set_out_of_service: { th: "งดให้บริการ", en: "Out of service" },
  set_available: { th: "พร้อมให้บริการ", en: "Back in service" },
  out_of_season: { th: "นอกฤดูกาล", en: "Out of season" },
  back_on: { th: "กลับมา {date}", en: "back {date}" },
  done: { th: "เรียบร้อย", en: "Done" },
  error: { th: "ผิดพลาด", en: "Error" },
  read_only: { th: "อ่านอย่างเดียว", en: "read only" },
  legend_incident: { th: "เหตุ", en: "Incident" },
  legend_boat: { th: "เรือ", en: "Boat" },
  legend_facility: { th: "สถานพยาบาล", en: "Facility" },
  // people
  nav_people: { th: "ผู้ใช้งาน", en: "People" },
  add_person: { th: "เพิ่มผู้ใช้งาน", en: "Add a person" },
  display_name: { th: "ชื่อที่แสดง", en: "Name shown" },
  role: { th: "บทบาท", en: "Role" },
  crew_of: { th: "ประจำหน่วย (รหัสหน่วย ถ้ามี)", en: "Crew of (resource id, optional)" },
  first_password: { th: "รหัสผ่านแรก (อย่างน้อย 10 ตัวอักษร)", en: "First password (10 characters or more)" },
  person_added: { th: "เพิ่ม {id} ({role}) แล้ว", en: "Added {id} ({role})" },
  // audit
  nav_audit: { th: "ตรวจสอบ / รายงาน", en: "Audit" },
  audit_title: { th: "ระยะเวลาการตอบสนองและการส่งต่อผู้ป่วยตามเวลารับประกัน", en: "Response times and the referral guarantee" },
  period_from: { th: "ตั้งแต่วันที่", en: "From" },
  period_to: { th: "ถึงวันที่ (รวมวันนั้น)", en: "Until (inclusive)" },
  zone: { th: "พื้นที่", en: "Zone" },
  apply: { th: "แสดงผล", en: "Apply" },
  download_csv: { th: "ดาวน์โหลด CSV", en: "Download CSV" },
  download_nemsis: { th: "CSV ตาม NEMSIS eTimes", en: "NEMSIS eTimes CSV" },
  times_bangkok: { th: "เวลาทั้งหมดเป็นเวลาประเทศไทย (UTC+7)", en: "Times are Bangkok time (ICT, UTC+7)." },
  log_verification: { th: "ตรวจสอบความถูกต้องของบันทึกเหตุการณ์", en: "Log verification" },
  verify_ok: { th: "✓ บันทึกครบถ้วน ไม่ถูกแก้ไข: ตรวจ {n} เหตุการณ์ (ตำแหน่งล่าสุด {head})", en: "✓ The log is intact: {n} events checked (head position {head})" },
  verify_anchored: { th: "และตรงกับจุดตรวจสอบที่ลงลายมือชื่อดิจิทัลไว้ ณ ตำแหน่ง {pos}", en: "and agrees with the signed checkpoint of position {pos}" },
  keep_checkpoint: { th: "เก็บจุดตรวจสอบที่ลงลายมือชื่อไว้: ใช้พิสูจน์ได้ภายหลังว่าบันทึกก่อนจุดนั้นไม่ถูกตัดทอนหรือเขียนทับ", en: "Keep a signed checkpoint: with it, anyone can later prove the log was not cut short or rewritten before it." },
  download_checkpoint: { th: "จุดตรวจสอบล่าสุด (ลงลายมือชื่อ)", en: "Latest signed checkpoint" },
  download_public_key: { th: "กุญแจสาธารณะ", en: "Public key" },
  verify_bad: { th: "✗ พบการแก้ไขหรือขาดหาย ที่ตำแหน่ง {pos}: {problem}", en: "✗ Altered or missing at position {pos}: {problem}" },
  figures: { th: "ตัวเลขสรุป", en: "Figures" },
  fig_incidents: { th: "จำนวนเหตุ", en: "Incidents" },
  fig_responses: { th: "จำนวนการออกปฏิบัติการ", en: "Responses" },
  fig_referrals: { th: "ส่งต่อที่มีเวลารับประกัน", en: "Referrals with a guarantee" },
  fig_met: { th: "ถึงทันเวลา", en: "Met" },
  fig_missed: { th: "ไม่ทันเวลา", en: "Missed" },
  fig_open: { th: "ยังไม่ถึง", en: "Still open" },
  fig_compliance: { th: "ร้อยละที่ทันเวลา", en: "Compliance" },
  chart_intervals: { th: "ช่วงเวลา (นาที): ค่ามัธยฐานและเปอร์เซ็นไทล์ที่ 90", en: "Intervals (minutes): median and 90th percentile" },
  chart_compliance: { th: "การส่งต่อที่ถึงภายในเวลารับประกัน รายเดือน", en: "Referrals within the guarantee, by month" },
  chart_response_month: { th: "เวลาตอบสนอง รายเดือน (นาที)", en: "Response time by month (minutes)" },
  median: { th: "มัธยฐาน", en: "median" },
  p90: { th: "เปอร์เซ็นไทล์ 90", en: "90th percentile" },
  no_data: { th: "ยังไม่มีข้อมูลในช่วงที่เลือก", en: "No data for this selection yet" },
  int_response_seconds: { th: "ตอบสนอง", en: "Response" },
  int_scene_seconds: { th: "ณ ที่เกิดเหตุ", en: "Scene" },
  int_transport_seconds: { th: "นำส่ง", en: "Transport" },
  int_hospital_wall_seconds: { th: "รอส่งมอบที่ รพ.", en: "Hospital wall" },
  int_total_seconds: { th: "รวม", en: "Total" },
  int_response: { th: "ตอบสนอง", en: "Response" },
  int_scene: { th: "ที่เกิดเหตุ", en: "Scene" },
  int_transport: { th: "นำส่ง", en: "Transport" },
  int_total: { th: "รวม", en: "Total" },
  triage_short: { th: "สี", en: "Triage" },
  per_incident: { th: "รายเหตุ (กดเพื่อดูลำดับเหตุการณ์)", en: "Per incident (open one for its timeline)" },
  show_more: { th: "แสดงเพิ่ม", en: "Show more" },
  met_n: { th: "ทัน {n}", en: "met {n}" },
  missed_n: { th: "ไม่ทัน {n}", en: "missed {n}" },
  open_n: { th: "ยังไม่ถึง {n}", en: "open {n}" },
  device_time: { th: "เวลาเครื่อง", en: "device time" },
  reads_title: { th: "ผู้เปิดดูข้อมูลผู้ป่วย", en: "Who read patient details" },
  reads_hint: { th: "ทุกครั้งที่มีผู้เปิดดูรายละเอียดเหตุหรือลำดับเหตุการณ์ จะถูกบันทึกไว้ (ล่าสุดก่อน)", en: "Every opening of an incident's details or audit trail is recorded (newest first)." },
  reads_incident: { th: "เลขเหตุ (เว้นว่าง = ทุกเหตุ)", en: "Incident (empty: all)" },
  reads_person: { th: "ผู้ใช้ (เว้นว่าง = ทุกคน)", en: "Person (empty: everyone)" },
  reads_show: { th: "แสดง", en: "Show" },
  reads_of_incident: { th: "ใครเปิดดูเหตุนี้", en: "Who read this incident" },
  read_at: { th: "เวลาที่เปิดดู", en: "Read at" },
  read_by: { th: "ผู้เปิดดู", en: "Read by" },
  read_view: { th: "ที่หน้า", en: "Where" },
  read_view_incident: { th: "รายละเอียดเหตุ", en: "Incident details" },
  read_view_audit_trail: { th: "ลำดับเหตุการณ์ (ตรวจสอบ)", en: "Audit trail" },
  reads_none: { th: "ยังไม่มีการเปิดดูที่ตรงกับเงื่อนไข", en: "No reads match yet" },
  reads_failed: { th: "โหลดรายการผู้เปิดดูไม่ได้", en: "Could not load the reads" },
  // the live sea picture
  stale: { th: "ตำแหน่งเก่า", en: "stale" },
  dead_reckoned: { th: "คาดการณ์", en: "reckoned" },
  dead_reckoned_hint: { th: "ตำแหน่งคาดการณ์จากทิศทางและความเร็วล่าสุด", en: "Position carried forward along its last course and speed" },
  alert_beacon: { th: "สัญญาณขอความช่วยเหลือ {beacon} MMSI {mmsi}: เปิดเหตุ {id}", en: "{beacon} MMSI {mmsi} is transmitting: incident {id}" },
  vessel: { th: "เรือ", en: "Vessel" },
  beacon_confirm: { th: "ยืนยันว่าเป็นเหตุจริง", en: "Confirm: real distress" },
  beacon_confirmed: { th: "ยืนยันแล้ว", en: "Confirmed" },
  beacon_dismiss: { th: "ยกเลิกสัญญาณ (ทดสอบ/เปิดผิดพลาด)", en: "Dismiss (test or false activation)" },
  beacon_reason_hint: { th: "เหตุผล เช่น ลูกเรือทดสอบ SART", en: "Why, e.g. the crew tested its SART" },
  confirm_dismiss_beacon: { th: "ยกเลิกสัญญาณและปิดเหตุ #{id} ว่าเป็นการแจ้งเหตุผิดพลาด?", en: "Dismiss the beacon and close incident #{id} as a false alarm?" },
  vessels_nearby: { th: "เรือที่อยู่ใกล้ (ไม่ใช่หน่วยของเรา)", en: "Vessels nearby (not our fleet)" },
  vessels_unavailable: { th: "ยังไม่มีข้อมูล AIS (ระบบรับสัญญาณไม่พร้อม)", en: "The AIS picture is not available" },
  vessels_none: { th: "ไม่พบเรือในรัศมี {km} กม.", en: "No vessel heard within {km} km" },
  eta_at_speed: { th: "ถึงใน ~{m} นาที ที่ {kn} นอต", en: "ETA ~{m} min at {kn} kn" },
  not_under_way: { th: "จอดอยู่", en: "not under way" },
  callsign: { th: "นามเรียกขาน", en: "call sign" },
  heard_ago: { th: "ได้ยินเมื่อ {duration} ที่แล้ว", en: "heard {duration} ago" },
  share_title: { th: "ตำแหน่งหน่วยของฉัน", en: "My unit's position" },
  share_label: { th: "แชร์ตำแหน่งโทรศัพท์นี้ขณะปฏิบัติหน้าที่", en: "Share this phone's position while I am on duty" },
  share_on: { th: "กำลังแชร์ตำแหน่งเป็นของหน่วย {unit}…", en: "Sharing this phone's position as {unit}'s…" },
  share_off: { th: "ไม่ได้แชร์ตำแหน่ง", en: "Not sharing" },
  share_paused: { th: "หยุดแชร์ชั่วคราว (หน้านี้ไม่ได้เปิดอยู่)", en: "Paused while this page is not in front" },
  share_sent: { th: "ส่งตำแหน่งของ {unit} แล้ว {time}", en: "{unit}'s position sent {time}" },
  share_failed: { th: "ส่งตำแหน่งไม่ได้ (ไม่มีสัญญาณ?) จะลองใหม่", en: "Could not send the position (no signal?); will try again" },
  share_no_gps: { th: "โทรศัพท์ไม่ให้ตำแหน่ง GPS", en: "The phone gives no GPS position" },
};

// The domain's words in Thai and English, by code. Which codes there are is the server's (GET /api/vocabulary,
// read by vocabulary.js); tests/unit/test_ui_scripts.py checks that each one it serves is here.
const VOCAB = {
  source: {
    beach: { th: "ชายหาด", en: "Beach" }, boat: { th: "เรือ", en: "Boat" },
    island: { th: "เกาะ", en: "Island" }, clinic: { th: "สถานพยาบาล / รพ.สต.", en: "Clinic / health unit" },
    ais_beacon: { th: "สัญญาณขอความช่วยเหลือ AIS", en: "AIS distress beacon" },
  },
  beacon: {
    sart: { th: "AIS-SART (เครื่องส่งสัญญาณค้นหาและกู้ภัย)", en: "AIS-SART" },
    mob: { th: "อุปกรณ์คนตกน้ำ AIS (MOB)", en: "AIS man-overboard device" },
    epirb: { th: "EPIRB แบบ AIS", en: "AIS EPIRB" },
  },
  beacon_state: {
    detected: { th: "ได้รับสัญญาณ รอยืนยัน", en: "Heard, not yet confirmed" },
    confirmed: { th: "ยืนยันแล้ว", en: "Confirmed" }, dismissed: { th: "ยกเลิกแล้ว", en: "Dismissed" },
  },
  position_source: {
    ais: { th: "AIS", en: "AIS" }, crew_phone: { th: "โทรศัพท์ลูกเรือ", en: "crew phone" },
    operator: { th: "เจ้าหน้าที่ระบุ", en: "operator" },
  },
  // The Thai 1669 Criteria Based Dispatch colours and what each means, most severe first.
  triage: {
    red: { th: "ผู้ป่วยฉุกเฉินวิกฤต", en: "Critical emergency", colour: { th: "แดง", en: "Red" } },
    yellow: { th: "ผู้ป่วยฉุกเฉินเร่งด่วน", en: "Urgent emergency", colour: { th: "เหลือง", en: "Yellow" } },
    green: { th: "ผู้ป่วยฉุกเฉินไม่รุนแรง", en: "Non-severe emergency", colour: { th: "เขียว", en: "Green" } },
    white: { th: "ผู้ป่วยทั่วไป", en: "General, not an emergency", colour: { th: "ขาว", en: "White" } },
    black: { th: "บริการสาธารณสุขอื่น", en: "Other public-health service, not an emergency", colour: { th: "ดำ", en: "Black" } },
  },
  category: {
    drowning: { th: "จมน้ำ", en: "Drowning" }, cardiac_arrest: { th: "หัวใจหยุดเต้น", en: "Cardiac arrest" },
    dive_injury: { th: "บาดเจ็บจากการดำน้ำ", en: "Dive injury" },
    marine_sting: { th: "ถูกสัตว์ทะเลพิษ (แมงกะพรุน ฯลฯ)", en: "Marine sting" },
    trauma: { th: "บาดเจ็บ / อุบัติเหตุ", en: "Trauma" }, other: { th: "อื่น ๆ", en: "Other" },
  },
  milestone: {
    reported: { th: "รับแจ้ง", en: "Reported" }, resource_notified: { th: "สั่งการแล้ว", en: "Dispatched" },
    en_route: { th: "ออกเดินทาง", en: "En route" }, on_scene: { th: "ถึงที่เกิดเหตุ", en: "On scene" },
    at_patient: { th: "ถึงตัวผู้ป่วย", en: "At patient" }, left_scene: { th: "ออกจากที่เกิดเหตุ", en: "Left scene" },
    at_destination: { th: "ถึงสถานพยาบาล", en: "At destination" }, handed_over: { th: "ส่งมอบผู้ป่วยแล้ว", en: "Handed over" },
    back_in_service: { th: "กลับพร้อมปฏิบัติงาน", en: "Back in service" }, cancelled: { th: "ยกเลิก", en: "Cancelled" },
  },
  resource_status: {
    available: { th: "ว่าง", en: "Available" }, assigned: { th: "ปฏิบัติภารกิจ", en: "Assigned" },
    out_of_service: { th: "งดให้บริการ", en: "Out of service" },
  },
  referral_status: {
    on_track: { th: "ตามกำหนด", en: "On track" }, at_risk: { th: "เสี่ยงล่าช้า", en: "At risk" },
    breached: { th: "เกินเวลา", en: "Breached" }, met: { th: "ถึงทันเวลา", en: "Met" }, missed: { th: "ไม่ทันเวลา", en: "Missed" },
  },
  zone: {
    similan: { th: "หมู่เกาะสิมิลัน", en: "Similan" }, surin: { th: "หมู่เกาะสุรินทร์", en: "Surin" },
    khao_lak_coast: { th: "ชายฝั่งเขาหลัก", en: "Khao Lak coast" }, koh_yao: { th: "เกาะยาว", en: "Koh Yao" },
    other: { th: "อื่น ๆ", en: "Other" },
  },
  kind: {
    boat: { th: "เรือ", en: "Boat" }, aed: { th: "AED", en: "AED" }, team: { th: "ทีม", en: "Team" },
    hospital: { th: "โรงพยาบาล", en: "Hospital" }, health_unit: { th: "รพ.สต.", en: "Health unit" },
    beach: { th: "ชายหาด", en: "Beach" }, island: { th: "เกาะ", en: "Island" }, pier: { th: "ท่าเรือ", en: "Pier" },
    dive_site: { th: "จุดดำน้ำ", en: "Dive site" }, park_station: { th: "ที่ทำการอุทยาน", en: "Park station" },
    town: { th: "เมือง", en: "Town" },
  },
  // Event types as the timeline shows them (the audit keeps the type's own name beside).
  event: {
    IncidentReported: { th: "รับแจ้งเหตุ", en: "Reported" }, IncidentTriaged: { th: "ตั้งรหัสความรุนแรง", en: "Triaged" },
    ResourceDispatched: { th: "สั่งหน่วยออก", en: "Unit dispatched" }, MilestoneRecorded: { th: "บันทึกขั้นตอน", en: "Milestone" },
    ResourceStoodDown: { th: "ถอนหน่วย", en: "Unit stood down" }, ResourceReassigned: { th: "ย้ายหน่วยไปเหตุอื่น", en: "Unit reassigned" },
    ReferralRequested: { th: "ขอส่งต่อ", en: "Referral requested" },
    ReferralCarrierChanged: { th: "เปลี่ยนหน่วยนำส่ง", en: "Carrier changed" },
    ReferralDestinationChanged: { th: "เปลี่ยนสถานพยาบาลปลายทาง", en: "Destination changed" },
    ReferralAtRisk: { th: "การส่งต่อเสี่ยงล่าช้า", en: "Referral at risk" }, ReferralBreached: { th: "เกินเวลารับประกัน", en: "Guarantee breached" },
    PatientArrivedAtFacility: { th: "ผู้ป่วยถึงสถานพยาบาล", en: "Patient arrived" }, PatientHandedOver: { th: "ส่งมอบผู้ป่วยแล้ว", en: "Patient handed over" },
    NoteAdded: { th: "บันทึก", en: "Note" }, IncidentClosed: { th: "ปิดเหตุ", en: "Closed" },
  },
  outcome: {
    treated_on_scene: { th: "รักษา ณ ที่เกิดเหตุ", en: "Treated on scene" }, transferred: { th: "ส่งต่อแล้ว", en: "Transferred" },
    deceased: { th: "เสียชีวิต", en: "Deceased" }, false_alarm: { th: "แจ้งเหตุผิดพลาด", en: "False alarm" },
    duplicate: { th: "แจ้งซ้ำ", en: "Duplicate" }, cancelled: { th: "ยกเลิก", en: "Cancelled" },
  },
};

// What each error code the API answers with means, for the person on screen (by code, never by the server's
// English detail). Every code the API can give is here: tests/integration/test_problems.py checks.
const PROBLEMS = {
  authentication_failed: { th: "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง หรือหมดเวลาการเข้าระบบ", en: "Wrong username or password, or your sign-in has ended" },
  committer_unavailable: { th: "ระบบกำลังเริ่มใหม่ ลองอีกครั้งในอีกสักครู่", en: "The system is restarting; try again in a moment" },
  concurrency_conflict: { th: "มีผู้อื่นแก้ไขก่อนคุณ กรุณาโหลดใหม่แล้วลองอีกครั้ง", en: "Someone changed this first; reload and try again" },
  csrf_failed: { th: "กรุณาเข้าสู่ระบบใหม่ก่อนบันทึก", en: "Sign in again before making changes" },
  database_unavailable: { th: "ฐานข้อมูลไม่ตอบสนอง ลองอีกครั้งในอีกสักครู่", en: "The database is not answering; try again shortly" },
  dispatch_error: { th: "ระบบไม่รับคำสั่งนี้", en: "The system refused this" },
  facility_not_found: { th: "ไม่พบโรงพยาบาลหรือ รพ.สต. ที่เลือก", en: "No such hospital or health unit" },
  http_error: { th: "ระบบไม่รับคำขอนี้", en: "The server refused this request" },
  idempotency_key_reused: { th: "คำขอซ้ำกับครั้งก่อนแต่เนื้อหาต่างกัน", en: "This repeats an earlier request with different content" },
  incident_already_exists: { th: "มีเหตุนี้อยู่แล้ว", en: "This incident already exists" },
  incident_closed: { th: "เหตุนี้ปิดแล้ว", en: "This incident is closed" },
  incident_not_found: { th: "ไม่พบเหตุนี้", en: "No such incident" },
  internal_error: { th: "ระบบขัดข้อง กรุณาแจ้งผู้ดูแลระบบ", en: "The server failed; tell the administrator" },
  invalid_input: { th: "ข้อมูลไม่ถูกต้อง", en: "Invalid input" },
  invalid_status_change: { th: "เปลี่ยนสถานะนี้ไม่ได้", en: "This status change is not allowed" },
  invalid_time: { th: "เวลาไม่ถูกต้อง (อยู่ในอนาคต หรือก่อนขั้นตอนก่อนหน้า)", en: "Invalid time (in the future, or before an earlier step)" },
  method_not_allowed: { th: "ไม่รองรับคำขอแบบนี้", en: "This kind of request is not allowed here" },
  milestone_already_recorded: { th: "บันทึกขั้นตอนนี้ไปแล้ว", en: "This milestone is already recorded" },
  milestone_out_of_order: { th: "ขั้นตอนไม่เป็นไปตามลำดับ", en: "Milestones must go in order" },
  network: { th: "ไม่มีสัญญาณ", en: "No signal" },
  not_found: { th: "ไม่พบสิ่งที่ขอ", en: "Not found" },
  not_permitted: { th: "บทบาทของคุณทำสิ่งนี้ไม่ได้", en: "Your role may not do this" },
  payload_too_large: { th: "ข้อมูลที่ส่งใหญ่เกินไป", en: "What was sent is too large" },
  referral_already_open: { th: "มีการส่งต่อที่เปิดอยู่แล้ว", en: "A referral is already open" },
  no_open_referral: { th: "ไม่มีการส่งต่อที่เปิดอยู่", en: "There is no open referral" },
  referral_needs_destination: { th: "การส่งต่อต้องระบุสถานพยาบาลปลายทาง", en: "A referral needs a destination facility" },
  resource_already_exists: { th: "มีหน่วยรหัสนี้อยู่แล้ว", en: "A unit with this id already exists" },
  resource_already_on_incident: { th: "หน่วยนี้อยู่ในเหตุนี้แล้ว", en: "This unit is already on this incident" },
  resource_not_assigned: { th: "หน่วยนี้ไม่ได้รับมอบหมายในเหตุนี้", en: "This unit is not assigned to this incident" },
  resource_not_found: { th: "ไม่พบหน่วยนี้", en: "No such unit" },
  resource_unavailable: { th: "หน่วยนี้ไม่ว่าง (ปฏิบัติภารกิจอื่นหรืองดให้บริการ)", en: "This unit is not available (on another incident or out of service)" },
  too_many_attempts: { th: "เข้าสู่ระบบผิดหลายครั้งเกินไป กรุณารอสักครู่", en: "Too many failed sign-ins; wait a while" },
  unsupported_media_type: { th: "รูปแบบข้อมูลไม่ถูกต้อง", en: "Unsupported data format" },
  user_exists: { th: "มีผู้ใช้ชื่อนี้อยู่แล้ว", en: "This username is taken" },
  user_not_found: { th: "ไม่พบผู้ใช้นี้", en: "No such person" },
  invalid_text: { th: "ข้อความมีอักขระที่ใช้ไม่ได้ หรือยาวเกินไป", en: "The text holds a character that is not allowed, or is too long" },
  value_not_stored: { th: "ระบบเก็บค่านี้ไม่ได้ ลองส่งอีกครั้งจะไม่สำเร็จ กรุณาแก้ข้อมูล", en: "This value cannot be stored; sending it again will not help, correct it" },
  not_on_incident: { th: "คุณไม่ได้เป็นผู้แจ้งหรือไม่ได้อยู่ในหน่วยที่รับเหตุนี้", en: "You neither reported this incident nor crew a unit on it" },
  not_crew_of_resource: { th: "บันทึกได้เฉพาะหน่วยที่คุณประจำอยู่", en: "You may record only for the unit you crew" },
  no_checkpoint: { th: "ยังไม่มีจุดตรวจสอบที่ลงนาม", en: "No signed checkpoint has been published yet" },
  resource_not_on_incident: { th: "หน่วยนี้ไม่เคยถูกส่งมาที่เหตุนี้", en: "This unit was never sent to this incident" },
  referral_unchanged: { th: "การส่งต่อใช้หน่วยหรือสถานพยาบาลนี้อยู่แล้ว", en: "The referral already has this carrier or destination" },
  resource_carries_referral: { th: "หน่วยนี้เป็นผู้นำส่งผู้ป่วย กรุณาเปลี่ยนหน่วยนำส่งก่อน", en: "This unit carries the referral's patient; name another carrier first" },
  response_completed: { th: "หน่วยนี้ส่งผู้ป่วยถึงสถานพยาบาลแล้ว ให้บันทึก “กลับพร้อมปฏิบัติงาน” แทน", en: "This unit has delivered the patient; record it back in service instead" },
  not_a_beacon_incident: { th: "เหตุนี้ไม่ได้เปิดจากสัญญาณขอความช่วยเหลือ AIS ให้ปิดเหตุแทน", en: "This incident was not opened by an AIS beacon; close it instead" },
  mmsi_already_claimed: { th: "หมายเลข MMSI นี้ผูกกับหน่วยอื่นอยู่แล้ว", en: "This MMSI already belongs to another unit" },
  alert_not_found: { th: "ไม่พบประกาศเตือนภัยนี้", en: "No such public alert" },
  alert_ended: { th: "ประกาศนี้สิ้นสุดแล้ว กรุณาออกประกาศใหม่", en: "This alert has ended; issue a new one" },
  alert_already_issued: { th: "ออกประกาศนี้ไปแล้ว", en: "This alert was issued already" },
  alert_exercise_mismatch: { th: "ประกาศฝึกซ้อมเปลี่ยนเป็นประกาศจริงไม่ได้", en: "An exercise alert cannot become a real one" },
  delivery_not_found: { th: "ไม่พบการส่งข้อความนี้", en: "No such delivery" },
};

const LANG_KEY = "dispatch.lang";
// The service worker imports this too (errors by code), and has no localStorage.
let current = globalThis.localStorage?.getItem(LANG_KEY) || null;

/** The language to show: the person's choice, else Thai for lifeguards, else the browser's. */
export function chooseDefault(role) {
  if (current) return current;
  if (role === "lifeguard") return (current = "th");
  return (current = (navigator.language || "").toLowerCase().startsWith("th") ? "th" : "en");
}

export function lang() {
  return current || chooseDefault(null);
}

export function setLang(value) {
  current = value;
  localStorage.setItem(LANG_KEY, value);
  applyTranslations();
  window.dispatchEvent(new CustomEvent("langchange", { detail: value }));
}

/** A UI string in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const entry = STRINGS[key];
  const text = entry ? entry[lang()] ?? entry.en : key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** What an error code means in the current language; null for a code the pages do not know. */
export function problemText(code) {
  const entry = PROBLEMS[code];
  return entry ? entry[lang()] ?? entry.en : null;
}

/** A domain word (triage, category, milestone…) in the current language or a given one. */
export function word(group, value, language = lang()) {
  const entry = VOCAB[group]?.[value];
  return entry ? entry[language] : value ?? "";
}

export function colourName(code, language = lang()) {
  return VOCAB.triage[code]?.colour[language] ?? code;
}

/** Fill every [data-i18n] (text), [data-i18n-placeholder] and [data-i18n-label] (aria-label) element. */
export function applyTranslations(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}

/** Wire a button that switches between Thai and English. */
export function languageButton(button) {
  const show = () => {
    button.textContent = t("language_other");
    button.lang = lang() === "th" ? "en" : "th";
  };
  show();
  button.addEventListener("click", () => setLang(lang() === "th" ? "en" : "th"));
  window.addEventListener("langchange", show);
}
export { STRINGS, VOCAB }; // read by the coverage test (ui/tests/i18n.test.js)
