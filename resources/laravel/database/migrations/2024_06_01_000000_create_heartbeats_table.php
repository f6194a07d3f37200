<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

return new class extends Migration
{
    /**
     * One row per scheduled job that reports in (an expand-only change: the previous release
     * never reads it).
     *
     * @return void
     */
    public function up()
    {
        Schema::create('heartbeats', function (Blueprint $table) {
            $table->string('name', 64)->primary();
            $table->timestamp('beat_at');
        });
    }

    /**
     * @return void
     */
    public function down()
    {
        Schema::dropIfExists('heartbeats');
    }
};
