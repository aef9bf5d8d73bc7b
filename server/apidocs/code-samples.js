// A Swagger UI plugin that shows each operation's x-codeSamples (curl and
// the JavaScript, Python and Go SDKs) in tabs with a copy button, above its
// parameters and "Try it out". Served from the binary, like Swagger UI
// itself; /api-docs lists it in the plugins of its settings.
(function () {
  'use strict';

  // copyText puts text on the clipboard: the Clipboard API where the page
  // may use it, else a selected, hidden textarea and the copy command.
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  function legacyCopy(text) {
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'cv-code-samples__offscreen';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand('copy');
    } finally {
      document.body.removeChild(area);
    }
    return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
  }

  function CodeSamples(props) {
    var React = props.React;
    var h = React.createElement;
    var samples = props.samples;
    var tab = React.useState(0);
    var active = Math.min(tab[0], samples.length - 1);
    var status = React.useState('');
    var sample = samples[active];

    function copy() {
      copyText(sample.source).then(
        function () { status[1]('Copied'); },
        function () { status[1]('Press Ctrl+C to copy'); }
      );
    }

    return h('div', { className: 'cv-code-samples' },
      h('div', { className: 'cv-code-samples__header' },
        h('h4', { className: 'cv-code-samples__title' }, 'Code samples'),
        h('div', { className: 'cv-code-samples__tabs', role: 'tablist' },
          samples.map(function (s, i) {
            return h('button', {
              key: i,
              type: 'button',
              role: 'tab',
              'aria-selected': i === active ? 'true' : 'false',
              className: 'cv-code-samples__tab' + (i === active ? ' is-active' : ''),
              onClick: function () { tab[1](i); status[1](''); },
            }, s.label || s.lang);
          }))),
      h('div', { className: 'cv-code-samples__body', role: 'tabpanel' },
        h('button', { type: 'button', className: 'cv-code-samples__copy', onClick: copy }, status[0] || 'Copy'),
        h('pre', { className: 'cv-code-samples__source', 'data-lang': sample.lang },
          h('code', null, sample.source))));
  }

  window.CredVaultCodeSamples = function () {
    return {
      wrapComponents: {
        // The samples go above the parameters, where "Try it out" is.
        parameters: function (Original, system) {
          return function (props) {
            var React = system.React;
            var op = props.operation;
            var samples = op && op.get ? op.get('x-codeSamples') : null;
            var original = React.createElement(Original, props);
            if (!samples || !samples.size) {
              return original;
            }
            return React.createElement('div', null,
              React.createElement(CodeSamples, { React: React, samples: samples.toJS() }), original);
          };
        },
        // The extensions table would repeat the samples as raw JSON.
        OperationExtRow: function (Original, system) {
          return function (props) {
            return props.xKey === 'x-codeSamples' ? null : system.React.createElement(Original, props);
          };
        },
      },
    };
  };
})();
