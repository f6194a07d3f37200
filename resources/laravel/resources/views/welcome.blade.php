<!DOCTYPE html>
<html lang="{{ str_replace('_', '-', app()->getLocale()) }}">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{ config('app.name') }}</title>
    {{ Vite::tags(['resources/css/app.css', 'resources/js/app.js']) }}
</head>
<body>
    <main class="card">
        <h1>{{ config('app.name') }}</h1>
        <ul id="greetings" data-count="{{ $greetings->count() }}">
            @forelse ($greetings as $greeting)
                <li class="greeting" data-id="{{ $greeting->id }}">{{ $greeting->message }}</li>
            @empty
                <li class="greeting greeting--empty">No greetings yet.</li>
            @endforelse
        </ul>
        <form id="greeting-form" method="post" action="{{ route('greetings.store', [], false) }}">
            @csrf
            <input name="message" maxlength="255" required placeholder="Say hello" aria-label="Greeting">
            <button type="submit">Queue greeting</button>
        </form>
        @if (session('status'))
            <p id="queued" class="status">{{ session('status') }}</p>
        @endif
        @error('message')
            <p id="invalid" class="status">{{ $message }}</p>
        @enderror
        <p id="js-status" class="status">JavaScript has not run.</p>
        <footer>
            Laravel {{ app()->version() }} &middot; PHP {{ PHP_VERSION }} &middot; {{ config('app.env') }}
        </footer>
    </main>
</body>
</html>
