// Scanning a ballot's QR code with the phone or tablet camera (jsQR from npm, served from
// node_modules). The QR code holds "<site>/vote/<document code>-<serial>" (the owners' online
// voting page; older prints: "<site>/verify/…"); the ballot code is the last path segment. Without a camera or jsQR the code is typed, as before.
(function () {
  "use strict";
  var start = document.getElementById("scan-start");
  var input = document.getElementById("code");
  if (!start || !input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  start.hidden = false;
  var box = document.getElementById("scanner");
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  var status = document.getElementById("scan-status");
  var stream = null;

  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    box.hidden = true;
  }

  function codeOf(text) {
    var m = /\/(?:vote|verify)\/([A-Za-z0-9]+-\d+)\s*$/.exec(text) || /^([A-Za-z0-9]+-\d+)$/.exec(text.trim());
    return m ? m[1] : null;
  }

  function tick() {
    if (!stream) return;
    if (video.readyState === video.HAVE_ENOUGH_DATA && typeof window.jsQR === "function") {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (found) {
        var code = codeOf(found.data);
        if (code) {
          stop();
          input.value = code;
          input.form.submit();
          return;
        }
        status.textContent = "二维码不是本系统的选票，请改为手工输入选票编号";
      }
    }
    window.requestAnimationFrame(tick);
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      box.hidden = false;
      video.srcObject = s;
      video.play();
      window.requestAnimationFrame(tick);
    }).catch(function () {
      status.textContent = "无法打开摄像头，请手工输入选票编号";
      box.hidden = false;
    });
  });
})();
