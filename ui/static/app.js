// citysoc console (first page): the alert queue, in Vietnamese or English.
'use strict';
const STRINGS = {
  vi: { loading: 'Đang tải…', alerts: 'Cảnh báo', last_seen: 'Lần cuối', level: 'Mức', risk: 'Rủi ro',
        count: 'Số lần', system: 'Hệ thống', source: 'Nguồn', target: 'Đích', title: 'Tiêu đề',
        status: (n, t) => `${n} / ${t} cảnh báo`, error: 'Không kết nối được máy chủ', other: 'English' },
  en: { loading: 'Loading…', alerts: 'Alerts', last_seen: 'Last seen', level: 'Level', risk: 'Risk',
        count: 'Count', system: 'System', source: 'Source', target: 'Target', title: 'Title',
        status: (n, t) => `${n} of ${t} alerts`, error: 'Cannot reach the server', other: 'Tiếng Việt' },
};
let lang = localStorage.getItem('citysoc.lang') || 'vi';
let last = null;

function text(el, s) { el.textContent = s == null ? '—' : String(s); return el; }

function render() {
  const s = STRINGS[lang];
  document.documentElement.lang = lang;
  document.querySelectorAll('[data-i18n]').forEach(el => { text(el, s[el.dataset.i18n]); });
  text(document.getElementById('lang'), s.other);
  if (!last) return;
  text(document.getElementById('status'), s.status(last.returned, last.total));
  const body = document.querySelector('#alerts tbody');
  body.replaceChildren();
  const fmt = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
  for (const a of last.alerts) {
    const tr = document.createElement('tr');
    const cells = [fmt.format(new Date(a.last_seen)), a.level, a.risk.toFixed(2), a.count, a.system_id,
                   a.source_ip, a.destination_ip || a.host_name, a.title];
    cells.forEach((c, i) => {
      const td = text(document.createElement('td'), c);
      if (i === 1) td.className = 'level-' + a.level;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
}

async function refresh() {
  try {
    const r = await fetch('/api/v1/alerts?limit=200');
    if (!r.ok) throw new Error(r.status);
    last = await r.json();
  } catch (e) {
    text(document.getElementById('status'), STRINGS[lang].error);
    return;
  }
  render();
}

document.getElementById('lang').addEventListener('click', () => {
  lang = lang === 'vi' ? 'en' : 'vi';
  localStorage.setItem('citysoc.lang', lang);
  render();
});
render();
refresh();
setInterval(refresh, 5000);
