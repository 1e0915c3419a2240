import { defineConfig } from "vite";

// `just web` builds dist/; the gateway serves it at `/` and fills in the page's API key when it
// serves index.html (WEB_DIR, WEB_API_KEY).
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true },
});
