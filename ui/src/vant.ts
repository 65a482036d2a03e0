// The Vant components the app uses, each with its own styles. Registering the whole library
// would have the webview parse and keep every component's script and styles for nothing
// (docs/performance.md); src/vant.test.ts checks that every <van-*> tag in the app is here.
import type { App, Plugin } from 'vue'
import {
  Badge,
  Button,
  Cell,
  CellGroup,
  Checkbox,
  Empty,
  Field,
  Icon,
  Loading,
  NavBar,
  NoticeBar,
  Progress,
  Radio,
  RadioGroup,
  Step,
  Steps,
  Swipe,
  SwipeItem,
  Switch,
  Tab,
  Tabbar,
  TabbarItem,
  Tabs,
  Tag,
  Uploader,
} from 'vant'
import 'vant/es/badge/style/index'
import 'vant/es/button/style/index'
import 'vant/es/cell/style/index'
import 'vant/es/cell-group/style/index'
import 'vant/es/checkbox/style/index'
import 'vant/es/empty/style/index'
import 'vant/es/field/style/index'
import 'vant/es/icon/style/index'
import 'vant/es/loading/style/index'
import 'vant/es/nav-bar/style/index'
import 'vant/es/notice-bar/style/index'
import 'vant/es/progress/style/index'
import 'vant/es/radio/style/index'
import 'vant/es/radio-group/style/index'
import 'vant/es/step/style/index'
import 'vant/es/steps/style/index'
import 'vant/es/swipe/style/index'
import 'vant/es/swipe-item/style/index'
import 'vant/es/switch/style/index'
import 'vant/es/tab/style/index'
import 'vant/es/tabbar/style/index'
import 'vant/es/tabbar-item/style/index'
import 'vant/es/tabs/style/index'
import 'vant/es/tag/style/index'
import 'vant/es/uploader/style/index'
import 'vant/es/dialog/style/index'
import 'vant/es/notify/style/index'

export const components = [
  Badge,
  Button,
  Cell,
  CellGroup,
  Checkbox,
  Empty,
  Field,
  Icon,
  Loading,
  NavBar,
  NoticeBar,
  Progress,
  Radio,
  RadioGroup,
  Step,
  Steps,
  Swipe,
  SwipeItem,
  Switch,
  Tab,
  Tabbar,
  TabbarItem,
  Tabs,
  Tag,
  Uploader,
]

export const vant: Plugin = {
  install(app: App) {
    for (const component of components) {
      app.use(component)
    }
  },
}
