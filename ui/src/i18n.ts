// zh-CN first, with an English switch. Messages from Rust carry both languages already.
import { ref } from 'vue'
import type { AppError } from './backend'

export type Locale = 'zh' | 'en'
export const locale = ref<Locale>((localStorage.getItem('locale') as Locale) || 'zh')

export function setLocale(l: Locale) {
  locale.value = l
  localStorage.setItem('locale', l)
}

const en: Record<string, string> = {
  电子驾驶证: 'E-Driving Licence',
  首页: 'Home',
  业务中心: 'Services',
  消息: 'Messages',
  我的: 'Me',
  注册: 'Register',
  线上申请: 'Apply online',
  出示使用: 'Show',
  登录: 'Sign in',
  '登录 / 注册': 'Sign in / Register',
  退出登录: 'Sign out',
  我的驾驶证: 'My licence',
  驾驶证电子版: 'E-licence',
  申请电子驾驶证: 'Apply for the e-licence',
  证件号码或手机号: 'ID or mobile number',
  密码: 'Password',
  姓名: 'Name',
  身份证号码: 'ID number',
  手机号码: 'Mobile number',
  预留手机号: 'Reserved mobile number',
  验证码: 'Code',
  获取验证码: 'Send code',
  设置密码: 'Set a password',
  面签注册: 'Face-sign',
  在线注册: 'Online',
  支付宝: 'Alipay',
  实人认证: 'Verify in person (face)',
  身份证有效期限: 'ID card validity',
  开始实人认证: 'Check my face',
  身份证人像面: 'ID card, photo side',
  身份证国徽面: 'ID card, emblem side',
  提交人工审核: 'Send for review',
  人工审核: 'Manual review',
  支付宝绑定手机号: 'Mobile on Alipay',
  支付宝授权并注册: 'Authorise with Alipay and register',
  同意人脸识别授权: 'I agree to the face check',
  '人脸识别并注册': 'Check my face and register',
  完成注册: 'Register',
  照片来源: 'Photo',
  档案照片: 'Photo on file',
  相册: 'Album',
  拍照: 'Camera',
  选择照片: 'Choose a photo',
  提交申请: 'Submit',
  重新申请: 'Apply again',
  申请记录: 'Applications',
  审核期限: 'Review deadline',
  已超期: 'Overdue',
  驳回原因: 'Reasons',
  待发送: 'Saved, waiting to send',
  发送失败: 'Refused',
  没有消息: 'No messages',
  离线: 'Offline',
  最后更新: 'Last updated',
  不可办理: 'Not available',
  语言: 'Language',
  账户类型: 'Account type',
  照片检查通过: 'The photo passes the check',
  照片需要修改: 'The photo needs fixing',
  正在检查照片: 'Checking the photo',
  正在保存: 'Saving',
  正在发送: 'Sending',
  已提交: 'Submitted',
  系统繁忙: 'The system is busy',
  已保存将自动发送: 'Your application is saved on this phone and will be sent automatically.',
  请将面部置于框内: 'Put your face inside the frame',
  打开摄像头: 'Open the camera',
  准驾车型: 'Classes',
  有效期限: 'Valid',
  初次领证日期: 'First issued',
  状态: 'Status',
  记分: 'Points',
  发证机关: 'Issued by',
  档案编号: 'File number',
  证号: 'Number',
  性别: 'Sex',
  出生日期: 'Born',
  国籍: 'Nationality',
  住址: 'Address',
  返回: 'Back',
  下一步: 'Next',
  没有驾驶证信息: 'No licence on record',
  您的申请: 'Your application',
  暂无申请: 'No application yet',
  去申请: 'Apply',
  查看: 'View',
  审核结果会通过短信和消息通知您: 'The result reaches you by SMS and in Messages.',
}

export function t(zh: string): string {
  return locale.value === 'en' ? en[zh] ?? zh : zh
}

export function errorText(e: AppError): string {
  return locale.value === 'en' ? e.message_en || e.message : e.message
}
