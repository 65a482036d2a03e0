import { createApp } from 'vue'
import { createRouter, createWebHashHistory } from 'vue-router'
import { vant } from './vant'
import App from './App.vue'
import Home from './views/Home.vue'
import SignIn from './views/SignIn.vue'
import Register from './views/Register.vue'
import Licence from './views/Licence.vue'
import Services from './views/Services.vue'
import Apply from './views/Apply.vue'
import Messages from './views/Messages.vue'
import Me from './views/Me.vue'
import Verify from './views/Verify.vue'
import Elicence from './views/Elicence.vue'
import ShareMdoc from './views/ShareMdoc.vue'
import Officer from './views/Officer.vue'

const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', component: Home, meta: { tab: true } },
    { path: '/services', component: Services, meta: { tab: true } },
    { path: '/messages', component: Messages, meta: { tab: true } },
    { path: '/me', component: Me, meta: { tab: true } },
    { path: '/sign-in', component: SignIn },
    { path: '/register', component: Register },
    { path: '/licence', component: Licence },
    { path: '/apply', component: Apply },
    { path: '/verify', component: Verify },
    { path: '/elicence', component: Elicence },
    { path: '/elicence/share', component: ShareMdoc },
    { path: '/officer', component: Officer },
  ],
})

createApp(App).use(router).use(vant).mount('#app')
