// zh-CN first, with an English switch: every word the screens show is here, under a key, in
// both languages (a lint, i18n.test.ts, fails on Chinese text anywhere else in ui/src).
// Messages from Rust carry both languages already.
import { ref } from 'vue'
import type { AppError } from './generated/types'

export type Locale = 'zh' | 'en'
// (No localStorage outside a window, e.g. in the unit tests: zh-CN.)
export const locale = ref<Locale>((globalThis.localStorage?.getItem('locale') as Locale) || 'zh')

export function setLocale(l: Locale) {
  locale.value = l
  localStorage.setItem('locale', l)
}

/** Each language's name in itself, for the switch (the same in every locale). */
export const LANGUAGE_NAMES: Record<Locale, string> = { zh: '中文', en: 'English' }

const messages = {
  appTitle: { zh: '电子驾驶证', en: 'E-Driving Licence' },
  home: { zh: '首页', en: 'Home' },
  services: { zh: '业务中心', en: 'Services' },
  messages: { zh: '消息', en: 'Messages' },
  me: { zh: '我的', en: 'Me' },
  register: { zh: '注册', en: 'Register' },
  applyOnline: { zh: '线上申请', en: 'Apply online' },
  show: { zh: '出示使用', en: 'Show' },
  signIn: { zh: '登录', en: 'Sign in' },
  signInRegister: { zh: '登录 / 注册', en: 'Sign in / Register' },
  signOut: { zh: '退出登录', en: 'Sign out' },
  signOutEverywhere: { zh: '退出所有设备（手机丢失时）', en: 'Sign out on every device (lost phone)' },
  myLicence: { zh: '我的驾驶证', en: 'My licence' },
  eLicence: { zh: '驾驶证电子版', en: 'E-licence' },
  applyForElicence: { zh: '申请电子驾驶证', en: 'Apply for the e-licence' },
  idOrMobile: { zh: '证件号码或手机号', en: 'ID or mobile number' },
  password: { zh: '密码', en: 'Password' },
  name: { zh: '姓名', en: 'Name' },
  idNumber: { zh: '身份证号码', en: 'ID number' },
  mobileNumber: { zh: '手机号码', en: 'Mobile number' },
  reservedMobileNumber: { zh: '预留手机号', en: 'Reserved mobile number' },
  code: { zh: '验证码', en: 'Code' },
  sendCode: { zh: '获取验证码', en: 'Send code' },
  setAPassword: { zh: '设置密码', en: 'Set a password' },
  registerFaceSign: { zh: '面签注册', en: 'Face-sign' },
  registerOnline: { zh: '在线注册', en: 'Online' },
  alipay: { zh: '支付宝', en: 'Alipay' },
  verifyInPersonFace: { zh: '实人认证', en: 'Verify in person (face)' },
  idCardValidity: { zh: '身份证有效期限', en: 'ID card validity' },
  checkMyFace: { zh: '开始实人认证', en: 'Check my face' },
  idCardFront: { zh: '身份证人像面', en: 'ID card, photo side' },
  idCardBack: { zh: '身份证国徽面', en: 'ID card, emblem side' },
  sendForReview: { zh: '提交人工审核', en: 'Send for review' },
  manualReview: { zh: '人工审核', en: 'Manual review' },
  mobileOnAlipay: { zh: '支付宝绑定手机号', en: 'Mobile on Alipay' },
  alipayAuthoriseRegister: { zh: '支付宝授权并注册', en: 'Authorise with Alipay and register' },
  consentFaceCheck: { zh: '同意人脸识别授权', en: 'I agree to the face check' },
  faceCheckAndRegister: { zh: '人脸识别并注册', en: 'Check my face and register' },
  finishRegistration: { zh: '完成注册', en: 'Register' },
  photoSource: { zh: '照片来源', en: 'Photo' },
  photoOnFile: { zh: '档案照片', en: 'Photo on file' },
  album: { zh: '相册', en: 'Album' },
  takePhoto: { zh: '拍照', en: 'Camera' },
  chooseAPhoto: { zh: '选择照片', en: 'Choose a photo' },
  submitApplication: { zh: '提交申请', en: 'Submit' },
  applyAgain: { zh: '重新申请', en: 'Apply again' },
  applications: { zh: '申请记录', en: 'Applications' },
  reviewDeadline: { zh: '审核期限', en: 'Review deadline' },
  overdue: { zh: '已超期', en: 'Overdue' },
  reasons: { zh: '驳回原因', en: 'Reasons' },
  waitingToSend: { zh: '待发送', en: 'Saved, waiting to send' },
  sendFailed: { zh: '发送失败', en: 'Refused' },
  noMessages: { zh: '没有消息', en: 'No messages' },
  offline: { zh: '离线', en: 'Offline' },
  lastUpdated: { zh: '最后更新', en: 'Last updated' },
  notAvailable: { zh: '不可办理', en: 'Not available' },
  language: { zh: '语言', en: 'Language' },
  accountType: { zh: '账户类型', en: 'Account type' },
  photoPasses: { zh: '照片检查通过', en: 'The photo passes the check' },
  photoNeedsFixing: { zh: '照片需要修改', en: 'The photo needs fixing' },
  checkingThePhoto: { zh: '正在检查照片', en: 'Checking the photo' },
  saving: { zh: '正在保存', en: 'Saving' },
  sending: { zh: '正在发送', en: 'Sending' },
  submitted: { zh: '已提交', en: 'Submitted' },
  systemBusy: { zh: '系统繁忙', en: 'The system is busy' },
  savedWillSend: { zh: '已保存将自动发送', en: 'Your application is saved on this phone and will be sent automatically.' },
  putFaceInFrame: { zh: '请将面部置于框内', en: 'Put your face inside the frame' },
  putQrInSquare: { zh: '请将二维码置于框内', en: 'Put the QR code inside the square' },
  openTheCamera: { zh: '打开摄像头', en: 'Open the camera' },
  classes: { zh: '准驾车型', en: 'Classes' },
  validity: { zh: '有效期限', en: 'Valid' },
  firstIssued: { zh: '初次领证日期', en: 'First issued' },
  status: { zh: '状态', en: 'Status' },
  points: { zh: '记分', en: 'Points' },
  issuedBy: { zh: '发证机关', en: 'Issued by' },
  fileNumber: { zh: '档案编号', en: 'File number' },
  number: { zh: '证号', en: 'Number' },
  sex: { zh: '性别', en: 'Sex' },
  born: { zh: '出生日期', en: 'Born' },
  nationality: { zh: '国籍', en: 'Nationality' },
  address: { zh: '住址', en: 'Address' },
  back: { zh: '返回', en: 'Back' },
  next: { zh: '下一步', en: 'Next' },
  noLicenceOnRecord: { zh: '没有驾驶证信息', en: 'No licence on record' },
  yourApplication: { zh: '您的申请', en: 'Your application' },
  noApplicationYet: { zh: '暂无申请', en: 'No application yet' },
  goApply: { zh: '去申请', en: 'Apply' },
  view: { zh: '查看', en: 'View' },
  resultBySms: { zh: '审核结果会通过短信和消息通知您', en: 'The result reaches you by SMS and in Messages.' },
  showElicence: { zh: '出示电子驾驶证', en: 'Show the e-licence' },
  applyForAndShowElicence: { zh: '申领、查看驾驶证电子版', en: 'Apply for and show the e-licence' },
  noQrCode: { zh: '暂无二维码', en: 'No QR code' },
  mainPage: { zh: '正页', en: 'Main page' },
  secondPage: { zh: '副页', en: 'Second page' },
  swipeForPages: { zh: '左右滑动查看正页、副页', en: 'Swipe for the main and second pages' },
  generatedAt: { zh: '生成时间', en: 'Generated' },
  currentTime: { zh: '当前时间', en: 'Now' },
  record: { zh: '记录', en: 'Record' },
  pointsThisCycle: { zh: '累积记分', en: 'Points this cycle' },
  permittedClasses: { zh: '准驾车型代号', en: 'Classes you may drive' },
  printedOnLicence: { zh: '证载', en: 'printed' },
  careMode: { zh: '关怀模式', en: 'Care mode' },
  careModeHint: { zh: '字体更大、每屏一个操作、二维码尽量大', en: 'Larger type, one action a screen, the QR as large as it fits' },
  secondsUntilNewQr: { zh: '秒后刷新二维码', en: 's until a new QR code' },
  licenceNotInOrder: { zh: '驾驶证状态异常', en: 'Licence not in order' },
  totalPoints: { zh: '累积记分', en: 'Points' },
  statusAsOf: { zh: '状态信息更新于', en: 'Status as of' },
  lastOnline: { zh: '最后联网', en: 'Last online' },
  eLicenceValidUntil: { zh: '电子驾驶证有效至', en: 'E-licence valid until' },
  keyInSystemStore: { zh: '设备密钥保存在系统密钥库', en: 'device key in the system key store' },
  keyInFile: { zh: '设备密钥保存在本机文件', en: 'device key in a file on this device' },
  officers: { zh: '执勤民警', en: 'Officers' },
  officerCheck: { zh: '执勤民警核验', en: 'Officer check' },
  officersScanOffline: { zh: '民警扫码核验电子驾驶证（可离线）', en: 'Officers scan and check an e-licence (works offline)' },
  officerAccountsHint: { zh: '民警账号由管理员在管理后台开通；登录需联网一次，之后可离线核验。', en: 'Officer accounts are opened by an administrator in the console. Sign in once with a network; checks then work offline.' },
  officerId: { zh: '警号', en: 'Officer ID' },
  statusData: { zh: '状态信息', en: 'Status data' },
  none: { zh: '无', en: 'None' },
  fresh: { zh: '有效', en: 'current' },
  outOfDateGoOnline: { zh: '已过期，请联网', en: 'out of date, go online' },
  scanQrCode: { zh: '扫码核验', en: 'Scan a QR code' },
  stopScanning: { zh: '停止扫码', en: 'Stop scanning' },
  readFromAPicture: { zh: '从图片识别', en: 'Read from a picture' },
  verdictValid: { zh: '核验通过', en: 'Valid' },
  statusUnconfirmed: { zh: '无法确认状态', en: 'Status unconfirmed' },
  notValid: { zh: '核验不通过', en: 'Not valid' },
  offlineCheck: { zh: '离线核验', en: 'Offline check' },
  onlineCheck: { zh: '联网核验', en: 'Online check' },
  liveStatus: { zh: '实时状态', en: 'Live status' },
  qrMadeAt: { zh: '二维码生成时间', en: 'QR made at' },
  holderSignedData: { zh: '持证人（签名数据）', en: 'Holder (signed data)' },
  // Text that used to be written into the screens themselves.
  onFileHint: { zh: '使用公安交管部门存档的驾驶证照片，无需上传。', en: 'The licence photo the traffic police keep on file is used; nothing to upload.' },
  albumHint: { zh: '白色背景、正面免冠、露出双耳和眉毛的近期彩色照片。', en: 'A recent colour photo: white background, facing the camera, no hat, ears and eyebrows showing.' },
  licenceCardTitle: { zh: '中华人民共和国机动车驾驶证', en: "Motor Vehicle Driving Licence of the People's Republic of China" },
  upgradeHint: {
    zh: '在线注册用户可办理的业务有限。到车管所面签或完成实人认证后，可办理全部业务（含驾驶证电子版）。',
    en: 'An online-registered account can use only some services. Face-sign at a vehicle office or verify in person to use them all (the e-licence included).',
  },
  formIncomplete: { zh: '请完整、正确填写姓名、身份证号码和手机号码', en: 'Fill in the name, ID number and mobile number correctly' },
  faceSignHint: {
    zh: '已在车管所面签的驾驶人：填写本人信息，获取验证码，并完成人脸识别。',
    en: 'Drivers who face-signed at a vehicle office: fill in your details, get a code and complete the face check.',
  },
  onlineHint: {
    zh: '在线注册：验证码发送至您在公安交管部门登记的预留手机号。',
    en: 'Online registration: the code is sent to the mobile number you reserved with the traffic police.',
  },
  alipayHint: {
    zh: '支付宝注册：授权后使用支付宝的实名信息和绑定手机号注册，姓名和身份证号码须与支付宝实名一致。注册后为在线注册用户。',
    en: "Alipay: once you authorise it, your verified Alipay identity and its mobile number register you; the name and ID number must match Alipay's. You become an online-registered user.",
  },
  noEndDate: { zh: '长期', en: 'no end date' },
  comma: { zh: '，', en: ', ' },
  codeSentTo: { zh: '验证码已发送至', en: 'Code sent to' },
  codeValidFor: { zh: '分钟内有效', en: 'min to use it' },
  passwordHint: { zh: '至少8位', en: 'At least 8 characters' },
  faceCheck: { zh: '人脸识别', en: 'Face check' },
  licenceServices: { zh: '驾驶证业务', en: 'Licence services' },
  verifyHint: {
    zh: '完成实人认证后成为面签用户，可办理驾驶证电子版等全部业务。',
    en: 'Once verified in person you are a face-signed user and can use every service, the e-licence included.',
  },
  idCardValidityExample: { zh: '2015-03-01至2035-03-01', en: '2015-03-01 to 2035-03-01' },
  idCardReviewHint: {
    zh: '请上传身份证正反面照片，审核结果将以短信通知您。',
    en: 'Upload photos of both sides of your ID card; the result reaches you by SMS.',
  },
  reviewPending: { zh: '审核中', en: 'Under review' },
  reviewApproved: { zh: '已通过', en: 'Approved' },
  reviewRejected: { zh: '未通过', en: 'Rejected' },
  internalError: { zh: '应用内部错误，请重试', en: 'Internal error in the app; try again' },
  showToOthers: { zh: '出示给其他核验方', en: 'Show to other verifiers' },
  showToOthersHint: {
    zh: '租车、保险或境外核验设备读取（ISO 18013-5 移动驾驶证）：只出示您选择的内容',
    en: 'For rental desks, insurers and readers abroad (ISO 18013-5 mobile licence): only what you choose is shown',
  },
  chooseWhatToShow: { zh: '选择出示内容', en: 'Choose what to show' },
  disclosureEverything: { zh: '全部信息', en: 'Everything' },
  disclosureEverythingNote: { zh: '交警核查等需要完整信息时', en: 'When the full licence is needed, e.g. the traffic police' },
  disclosureRentalDesk: { zh: '租车、保险', en: 'Rental and insurance' },
  disclosureRentalDeskNote: {
    zh: '姓名、照片、准驾车型、有效期和驾驶证状态',
    en: 'Name, photo, vehicle categories, validity and licence standing',
  },
  disclosureAgeOver18: { zh: '仅年龄', en: 'Age only' },
  disclosureAgeOver18Note: { zh: '只告知是否已满18周岁', en: 'Only whether you are 18 or over' },
  letVerifierScan: {
    zh: '请核验方扫描此二维码，再通过蓝牙读取',
    en: 'Let the verifier scan this code, then read over Bluetooth',
  },
  willBeShown: { zh: '将出示以下内容', en: 'What will be shown' },
  sharedWithVerifier: { zh: '已向核验方出示以下内容', en: 'Shown to the verifier' },
  waitingForVerifier: { zh: '等待核验设备读取…', en: 'Waiting for the verifier’s device…' },
  shareAgain: { zh: '重新出示', en: 'Show again' },
  yes: { zh: '是', en: 'Yes' },
  no: { zh: '否', en: 'No' },
  photo: { zh: '照片', en: 'Photo' },
  male: { zh: '男', en: 'Male' },
  female: { zh: '女', en: 'Female' },
} satisfies Record<string, Record<Locale, string>>

/** The mDL's elements (ISO 18013-5 and ours), by identifier, as the share page lists them. */
const elementNames: Record<string, Record<Locale, string>> = {
  family_name: { zh: '姓（拼音）', en: 'Family name' },
  given_name: { zh: '名（拼音）', en: 'Given name' },
  family_name_national_character: { zh: '姓', en: 'Family name (Chinese)' },
  given_name_national_character: { zh: '名', en: 'Given name (Chinese)' },
  birth_date: { zh: '出生日期', en: 'Date of birth' },
  issue_date: { zh: '有效期起始日期', en: 'Issued' },
  expiry_date: { zh: '有效期截止日期', en: 'Expires' },
  issuing_country: { zh: '签发国家', en: 'Issuing country' },
  issuing_authority: { zh: '发证机关', en: 'Issuing authority' },
  document_number: { zh: '证号', en: 'Licence number' },
  portrait: { zh: '照片', en: 'Portrait' },
  driving_privileges: { zh: '国际驾驶类别', en: 'Vehicle categories' },
  un_distinguishing_sign: { zh: '国际识别代码', en: 'Distinguishing sign' },
  sex: { zh: '性别', en: 'Sex' },
  resident_address: { zh: '住址', en: 'Address' },
  age_over_18: { zh: '已满18周岁', en: 'Aged 18 or over' },
  age_over_21: { zh: '已满21周岁', en: 'Aged 21 or over' },
  nationality: { zh: '国籍', en: 'Nationality' },
  cumulative_points: { zh: '累积记分', en: 'Points this cycle' },
  licence_status: { zh: '驾驶证状态', en: 'Licence status' },
  file_number: { zh: '档案编号', en: 'File number' },
  vehicle_classes: { zh: '准驾车型', en: 'Licence classes' },
  first_issue_date: { zh: '初次领证日期', en: 'First licensed' },
}

/** An mDL element's name in the chosen language; an unknown one keeps its identifier. */
export function elementName(identifier: string): string {
  return elementNames[identifier]?.[locale.value] ?? identifier
}

export type MessageKey = keyof typeof messages

/** Every entry, for the tests. */
export const catalogue: Readonly<Record<MessageKey, Record<Locale, string>>> = messages

export function t(key: MessageKey): string {
  return messages[key][locale.value]
}

/** A message in both languages (for an AppError made on this side). */
export function bothLanguages(key: MessageKey): Record<Locale, string> {
  return messages[key]
}

export function errorText(e: AppError): string {
  return locale.value === 'en' ? e.message_en || e.message : e.message
}

// Names that the views give in Chinese only, by their stable code: the English is here until
// licence-client's views carry it (as they do for statuses and verdicts: `status_en`, `text_en`).
const englishByCode = {
  /** AccountView.kind.kind */
  kind: { face_signed: 'Face-signed user', online_registered: 'Online-registered user', unit: 'Unit user' },
  /** ApplicationView.status */
  application: {
    draft: 'Draft',
    submitted: 'Submitted',
    under_review: 'Under review',
    approved: 'Approved',
    rejected: 'Rejected',
    issued: 'Issued',
    withdrawn: 'Withdrawn',
  },
  /** RejectionView.code: why an application was rejected */
  rejection: {
    photo_not_compliant: 'The photo does not meet the requirements',
    photo_not_the_person: 'The photo is not of the applicant',
    licence_not_eligible: 'The licence status does not allow an e-licence',
    information_mismatch: 'The details do not match the records',
    other: 'Other',
  },
  /** The registry's words for sex and nationality, as printed on the licence */
  recordWord: { 男: 'Male', 女: 'Female', 中国: 'China' },
} satisfies Record<string, Record<string, string>>

export type CodeTable = keyof typeof englishByCode

/** What Rust named `code` (in Chinese), in the chosen language; an unknown code keeps Rust's words. */
export function named(table: CodeTable, code: string | null | undefined, chinese: string): string {
  if (locale.value === 'zh' || code == null) return chinese
  return (englishByCode[table] as Record<string, string>)[code] ?? chinese
}

/** A validity period as the registry writes it (`2020-01-01至2026-01-01`, `2020-01-01至长期`). */
export function period(validity: string): string {
  if (locale.value === 'zh') return validity
  const [from, to] = validity.split('至')
  if (to === undefined) return validity
  return `${from} – ${to === '长期' ? t('noEndDate') : to}`
}
