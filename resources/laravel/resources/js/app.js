// Entry point built by Vite into public/build/assets/app-[hash].js.
// It proves the asset reached the browser through nginx: it rewrites the
// status line and stamps the page with the build marker.

export const BUILD_MARKER = 'fargate-parity-assets-v1';

function render() {
  const status = document.getElementById('js-status');
  const list = document.getElementById('greetings');
  if (!status || !list) {
    return;
  }
  const count = Number(list.dataset.count || 0);
  status.textContent = `JavaScript is running (${BUILD_MARKER}): ${count} greeting${count === 1 ? '' : 's'} rendered by Laravel.`;
  status.classList.add('status--ok');
  document.documentElement.dataset.build = BUILD_MARKER;
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', render);
} else {
  render();
}

// Under Vite's dev server (`invoke dev --hot`) an edit to this file re-runs it
// in place: the page is not reloaded. A build drops this block.
if (import.meta.hot) {
  import.meta.hot.accept();
}
