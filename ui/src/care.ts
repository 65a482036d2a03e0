// 关怀模式 (care mode) for older drivers: larger type, one action per screen, the QR as large
// as the screen allows. A setting of this device, kept like the language.
import { ref } from 'vue'

// (No localStorage outside a window, e.g. in the unit tests: off.)
export const care = ref(globalThis.localStorage?.getItem('care') === '1')

export function setCare(on: boolean) {
  care.value = on
  localStorage.setItem('care', on ? '1' : '0')
}
