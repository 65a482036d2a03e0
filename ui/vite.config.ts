import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The app loads ui/dist from inside the binary: relative paths, no dev server needed.
export default defineConfig({
  plugins: [vue()],
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'safari15', chunkSizeWarningLimit: 1200 },
  // Vant's own modules import their styles: let Vite, not Node, load them in tests.
  test: { environment: 'node', server: { deps: { inline: ['vant'] } } },
})
