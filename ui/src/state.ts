// What several screens show: the home view (account, journey step, latest application) and
// the number of unread messages. Refreshed after every action that can change them.
import { ref } from 'vue'
import { backend, type HomeView } from './backend'

export const home = ref<HomeView | null>(null)
export const unread = ref(0)

export async function refreshHome(): Promise<void> {
  try {
    home.value = await backend.home()
  } catch {
    // The screen that asked shows its own error; the last view stays.
  }
}

export async function refreshUnread(): Promise<void> {
  try {
    unread.value = (await backend.inbox(0)).filter((m) => !m.read).length
  } catch {
    unread.value = 0
  }
}
